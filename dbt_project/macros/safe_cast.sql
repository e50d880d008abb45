{#- dbt-duckdb 1.11's safe_cast is a plain cast (an error on bad input); try_cast
    returns null instead, like the other adapters' safe_cast. -#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{#- Postgres has no try_cast and dbt-postgres's safe_cast is a plain cast too. The
    contract's values and HubSpot's score history are text cast to numbers, so numbers
    get DuckDB's try_cast behaviour: null unless the text is a number; integers accept a
    decimal and round it half away from zero ('3.5' -> 4), as DuckDB does. Other types
    keep the plain cast (an error on bad input). -#}
{% macro postgres__safe_cast(field, type) -%}
    {%- set type_name = type | lower | trim -%}
    {%- set is_number = "cast(" ~ field ~ " as text) ~ '^\\s*[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?\\s*$'" -%}
    {%- if type_name in ['int', 'integer', 'int4', 'bigint', 'int8', 'smallint', 'int2'] -%}
        case when {{ is_number }} then cast(round(cast(cast({{ field }} as text) as numeric)) as {{ type }}) end
    {%- elif type_name.startswith(('numeric', 'decimal', 'float', 'double', 'real')) -%}
        case when {{ is_number }} then cast(cast({{ field }} as text) as {{ type }}) end
    {%- else -%}
        cast({{ field }} as {{ type }})
    {%- endif -%}
{%- endmacro %}

{#- Spark's try_cast is null on bad input whatever ANSI mode says, but truncates a decimal
    text cast to an integer ('3.5' -> 3): integers round half away from zero through a
    decimal, as DuckDB does. -#}
{% macro spark__safe_cast(field, type) -%}
    {%- set type_name = type | lower | trim -%}
    {%- if type_name in ['int', 'integer', 'bigint', 'smallint', 'tinyint', 'long', 'short'] -%}
        cast(round(try_cast({{ field }} as decimal(38, 10))) as {{ type }})
    {%- else -%}
        try_cast({{ field }} as {{ type }})
    {%- endif -%}
{%- endmacro %}
