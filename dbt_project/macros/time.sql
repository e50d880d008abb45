{#- Time helpers. Every timestamp in the warehouse past staging is a UTC `timestamp`
    without time zone; local (contract-calendar) time only exists inside the SLA
    calendar. -#}

{#- "Now" for as-of logic: `var('as_of')` when set (tests, restatements), else the
    current UTC timestamp. -#}
{% macro leadbridge_now() -%}
    {%- if var('as_of', none) -%}
        cast('{{ var("as_of") }}' as {{ dbt.type_timestamp() }})
    {%- else -%}
        {{ tz_to_utc(dbt.current_timestamp()) }}
    {%- endif -%}
{%- endmacro %}

{#- A `timestamp with time zone` (what dlt lands) as a UTC `timestamp`. -#}
{% macro tz_to_utc(expression) -%}
    {{ return(adapter.dispatch('tz_to_utc', 'leadbridge')(expression)) }}
{%- endmacro %}
{% macro default__tz_to_utc(expression) -%}
    cast(({{ expression }}) at time zone 'UTC' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- A UTC `timestamp` as wall-clock time in `tz` (IANA name). -#}
{% macro utc_to_local(expression, tz) -%}
    {{ return(adapter.dispatch('utc_to_local', 'leadbridge')(expression, tz)) }}
{%- endmacro %}
{% macro default__utc_to_local(expression, tz) -%}
    cast((({{ expression }}) at time zone 'UTC') at time zone {{ tz }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- Wall-clock time in `tz` as a UTC `timestamp`. -#}
{% macro local_to_utc(expression, tz) -%}
    {{ return(adapter.dispatch('local_to_utc', 'leadbridge')(expression, tz)) }}
{%- endmacro %}
{% macro default__local_to_utc(expression, tz) -%}
    cast((({{ expression }}) at time zone {{ tz }}) at time zone 'UTC' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- ISO day of week, Monday = 1 … Sunday = 7. -#}
{% macro iso_day_of_week(expression) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'leadbridge')(expression)) }}
{%- endmacro %}
{% macro default__iso_day_of_week(expression) -%}
    cast(extract(isodow from {{ expression }}) as {{ dbt.type_int() }})
{%- endmacro %}

{#- Hour of day 0-23. -#}
{% macro hour_of_day(expression) -%}
    cast(extract(hour from {{ expression }}) as {{ dbt.type_int() }})
{%- endmacro %}
