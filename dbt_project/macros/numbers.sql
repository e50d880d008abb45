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

{#- numerator / denominator (a positive whole number) rounded half away from zero to
    `digits` decimals, computed on whole numbers, so every engine gets the same digits.
    `round` of a double quotient does not: 108 minutes / 1440 is 0.075 days, which a
    double holds as 0.07499…, so DuckDB rounds it to 0.07 where Spark's decimals and
    Postgres's numeric give 0.08. The caller casts the result to its numeric type. -#}
{% macro round_quotient(numerator, denominator, digits) -%}
    {%- set scale = 10 ** digits -%}
    (sign({{ numerator }}) * floor((abs({{ numerator }}) * {{ 2 * scale }} + {{ denominator }}) / {{ 2 * denominator }}) / {{ scale }})
{%- endmacro %}
