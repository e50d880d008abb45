{#- Identity matching compares emails case- and whitespace-insensitively; staging adds
    this as `email_normalized` beside the untouched source value. -#}
{% macro normalize_email(expression) -%}
    nullif(lower(trim({{ expression }})), '')
{%- endmacro %}

{#- Columns as one text, `|`-joined, null-safe: the input of a key or a hash. -#}
{% macro key_text(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '~null~')") -%}
        {%- if not loop.last %}{%- do parts.append("'|'") -%}{% endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}

{#- A stable text surrogate key from columns (md5 over their key_text). -#}
{% macro surrogate_key(columns) -%}
    {{ dbt.hash(key_text(columns)) }}
{%- endmacro %}

{#- An aggregate: an order-independent digest of a group's rows (their key_text), as
    text — the sum of 60-bit numbers read off each row's md5. Sorting and concatenating
    every row of a group (listagg) costs a sort and the strings' memory; a sum needs
    neither, and an added, removed or changed row changes it but with a chance of 2^-60.
    md5, not the engine's own hash: the digest is the same on DuckDB and PostgreSQL, and
    does not change with the engine's version. -#}
{% macro multiset_hash(columns) -%}
    {{ return(adapter.dispatch('multiset_hash', 'leadbridge')(columns)) }}
{%- endmacro %}

{% macro default__multiset_hash(columns) -%}
    cast(sum({{ row_hash_number(columns) }}) as {{ dbt.type_string() }})
{%- endmacro %}

{#- DuckDB's and Postgres's sums of bigints widen (hugeint, numeric); Spark's stays a
    bigint and wraps past 2^63, eight rows' worth: Spark sums decimals. -#}
{% macro spark__multiset_hash(columns) -%}
    cast(sum(cast({{ row_hash_number(columns) }} as decimal(38, 0))) as {{ dbt.type_string() }})
{%- endmacro %}

{#- A row's 60-bit number: the first 15 hex digits of the md5 of its key_text. -#}
{% macro row_hash_number(columns) -%}
    {{ adapter.dispatch('hex_to_bigint', 'leadbridge')('substr(' ~ dbt.hash(key_text(columns)) ~ ', 1, 15)') }}
{%- endmacro %}

{#- Up to 15 hex digits as a bigint. -#}
{% macro default__hex_to_bigint(hex) -%}
    cast('0x' || {{ hex }} as bigint)
{%- endmacro %}

{% macro postgres__hex_to_bigint(hex) -%}
    cast(cast('x' || lpad({{ hex }}, 16, '0') as bit(64)) as bigint)
{%- endmacro %}

{% macro spark__hex_to_bigint(hex) -%}
    cast(conv({{ hex }}, 16, 10) as bigint)
{%- endmacro %}

{#- The `part_expression`-th (1-based, positive) part of a delimited string, where the
    position is a column rather than a literal. dbt.split_part compares the position
    with 0 at compile time on Postgres (to support negative positions), so it only takes
    a literal there; both engines share the plain built-in for positive positions.
    Postgres wants an integer position (dbt.generate_series yields double precision). -#}
{% macro split_part_at(string_text, delimiter_text, part_expression) -%}
    split_part({{ string_text }}, {{ delimiter_text }}, cast({{ part_expression }} as {{ dbt.type_int() }}))
{%- endmacro %}

{#- A double precision value as text, formatted as DuckDB formats it. Both engines print
    the shortest text that reads back as the same double, but DuckDB keeps a `.0` on
    whole numbers below 1e16 (`15.0`) where Postgres prints `15` (and switches to an
    exponent from 1e15). -#}
{% macro float_to_string(expression) -%}
    {{ return(adapter.dispatch('float_to_string', 'leadbridge')(expression)) }}
{%- endmacro %}

{% macro default__float_to_string(expression) -%}
    cast({{ expression }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro postgres__float_to_string(expression) -%}
    case
        when {{ expression }} = trunc({{ expression }}) and abs({{ expression }}) < 1e16
            then cast(cast({{ expression }} as bigint) as text) || '.0'
        else cast({{ expression }} as text)
    end
{%- endmacro %}

{#- Spark prints a double as Java does: `15.0` like DuckDB, but `1.0E7` from 1e7 up. -#}
{% macro spark__float_to_string(expression) -%}
    case
        when {{ expression }} = floor({{ expression }}) and abs({{ expression }}) < 1e16
            then concat(cast(cast({{ expression }} as bigint) as string), '.0')
        else cast({{ expression }} as string)
    end
{%- endmacro %}

{#- The `name` of the team flagged `primary` in a JSON array of teams (HubSpot owners'
    `teams`), else of the first team; null for no team. -#}
{% macro primary_team_name(json_text) -%}
    {{ adapter.dispatch('primary_team_name', 'leadbridge')(json_text) }}
{%- endmacro %}

{% macro default__primary_team_name(json_text) -%}
    coalesce(
        list_filter(
            from_json({{ json_text }}, '[{"name": "VARCHAR", "primary": "BOOLEAN"}]'),
            lambda team: coalesce(team."primary", false)
        )[1].name,
        json_extract_string({{ json_text }}, '$[0].name')
    )
{%- endmacro %}

{#- Spark reads the JSON into an array of structs, as DuckDB does. -#}
{% macro spark__primary_team_name(json_text) -%}
    coalesce(
        element_at(
            filter(
                from_json({{ json_text }}, 'array<struct<name: string, `primary`: boolean>>'),
                team -> coalesce(team.`primary`, false)
            ),
            1
        ).name,
        get_json_object({{ json_text }}, '$[0].name')
    )
{%- endmacro %}

{% macro postgres__primary_team_name(json_text) -%}
    (
        select team ->> 'name'
        from json_array_elements(cast({{ json_text }} as json)) with ordinality as teams (team, position)
        order by coalesce(cast(team ->> 'primary' as boolean), false) desc, position
        limit 1
    )
{%- endmacro %}

{#- dbt-spark's listagg ignores its order (with a warning), and the order of a group's
    values is part of the text; Spark 4 has the standard ordered listagg. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        {{ exceptions.raise_compiler_error("listagg: limit_num is not supported on Spark") }}
    {%- endif -%}
    listagg({{ measure }}, {{ delimiter_text }}){% if order_by_clause %} within group ({{ order_by_clause }}){% endif %}
{%- endmacro %}
