{#- The lead contract tolerates a malformed email on a person record: the person is kept,
    the email is not used (identity, BI) and the row is listed in quarantine.quarantined_rows.
    One definition of "looks like an email", used by staging and by the quarantine model. -#}
{% macro email_is_valid(expression) -%}
    {{ return(adapter.dispatch('email_is_valid', 'leadbridge')(expression)) }}
{%- endmacro %}

{% macro default__email_is_valid(expression) -%}
    ({{ expression }} ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$')
{%- endmacro %}

{% macro duckdb__email_is_valid(expression) -%}
    regexp_full_match({{ expression }}, '[^@\s]+@[^@\s]+\.[^@\s]+')
{%- endmacro %}

{#- Java's regular expressions; Spark's string literals take `\\` for one backslash. -#}
{% macro spark__email_is_valid(expression) -%}
    ({{ expression }} rlike '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$')
{%- endmacro %}

{#- `email_normalized` of a staging model: normalised, or null when it is not an email. -#}
{% macro quarantined_email(expression) -%}
    case when {{ email_is_valid(normalize_email(expression)) }} then {{ normalize_email(expression) }} end
{%- endmacro %}
