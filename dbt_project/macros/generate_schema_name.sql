{#- Layers land in schemas named exactly `staging`, `intermediate`, `marts`, `lead_contract`
    (no target-schema prefix): the orchestration and BI read these names verbatim. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
