{#- Personal data in BI-facing marts is hashed: `email_hash` is the hex SHA-256 of the
    normalized email (lower-cased, trimmed), so BI can count and join people (and match
    hashed audiences elsewhere) without seeing the address. An unsalted hash of an email
    is pseudonymous, not anonymous (anyone holding the address can recompute it): the
    column stays tagged `pii: hashed` and only the clear value is kept out of the marts.
    Both engines must give the same hex text for the same input (the marts are compared
    row by row), hence the UTF-8 conversion on Postgres. -#}
{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch('sha256_hex', 'leadbridge')(expression)) }}
{%- endmacro %}

{% macro default__sha256_hex(expression) -%}
    {{ exceptions.raise_compiler_error("sha256_hex: no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}

{% macro duckdb__sha256_hex(expression) -%}
    sha256({{ expression }})
{%- endmacro %}

{% macro postgres__sha256_hex(expression) -%}
    encode(sha256(convert_to({{ expression }}, 'UTF8')), 'hex')
{%- endmacro %}

{#- Spark hashes a string's UTF-8 bytes and answers lower-case hex, as DuckDB does. -#}
{% macro spark__sha256_hex(expression) -%}
    sha2({{ expression }}, 256)
{%- endmacro %}

{#- `email_hash` of an email column: the hash of its normalized form (null stays null). -#}
{% macro email_hash(expression) -%}
    {{ sha256_hex(normalize_email(expression)) }}
{%- endmacro %}
