{#- Layers land in schemas named exactly `staging`, `intermediate`, `marts`, `lead_contract`
    (no target-schema prefix): the orchestration and BI read these names verbatim. The var
    `schema_prefix` (default none) is for the contract preview on PostgreSQL, which builds
    a proposed contract into prefixed scratch schemas beside the working ones. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ var('schema_prefix', '') }}{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
