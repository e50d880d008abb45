{#- `round(expression, digits)` for a value that may be double precision. Postgres has
    no round(double precision, integer), only round(numeric, integer), and its one-argument
    round of a double rounds halves to even; DuckDB rounds a double half away from zero,
    as Postgres does for numeric. So Postgres rounds the value as numeric. -#}
{% macro round_number(expression, digits=none) -%}
    {{ return(adapter.dispatch('round_number', 'leadbridge')(expression, digits)) }}
{%- endmacro %}

{% macro default__round_number(expression, digits) -%}
    round({{ expression }}{% if digits is not none %}, {{ digits }}{% endif %})
{%- endmacro %}

{% macro postgres__round_number(expression, digits) -%}
    round(cast({{ expression }} as numeric){% if digits is not none %}, {{ digits }}{% endif %})
{%- endmacro %}
