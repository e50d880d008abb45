{#- dbt-duckdb 1.11's safe_cast is a plain cast (an error on bad input); try_cast
    returns null instead, like the other adapters' safe_cast. -#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}
