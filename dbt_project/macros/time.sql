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
{#- Spark's `timestamp` is an instant shown in the session's time zone, which the `spark`
    target sets to UTC (profiles.yml): an instant already reads as UTC wall-clock time. -#}
{% macro spark__tz_to_utc(expression) -%}
    cast({{ expression }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- A UTC `timestamp` as wall-clock time in `tz` (IANA name). -#}
{% macro utc_to_local(expression, tz) -%}
    {{ return(adapter.dispatch('utc_to_local', 'leadbridge')(expression, tz)) }}
{%- endmacro %}
{% macro default__utc_to_local(expression, tz) -%}
    cast((({{ expression }}) at time zone 'UTC') at time zone {{ tz }} as {{ dbt.type_timestamp() }})
{%- endmacro %}
{% macro spark__utc_to_local(expression, tz) -%}
    from_utc_timestamp({{ expression }}, {{ tz }})
{%- endmacro %}

{#- Wall-clock time in `tz` as a UTC `timestamp`. -#}
{% macro local_to_utc(expression, tz) -%}
    {{ return(adapter.dispatch('local_to_utc', 'leadbridge')(expression, tz)) }}
{%- endmacro %}
{% macro default__local_to_utc(expression, tz) -%}
    cast((({{ expression }}) at time zone {{ tz }}) at time zone 'UTC' as {{ dbt.type_timestamp() }})
{%- endmacro %}
{#- A wall-clock time repeated when the clocks go back is read as the later instant
    (standard time), as DuckDB and PostgreSQL read it; Spark's to_utc_timestamp takes the
    earlier. The repeat is taken to last one hour, as in every zone but Lord Howe's. -#}
{% macro spark__local_to_utc(expression, tz) -%}
    {%- set earlier = 'to_utc_timestamp(' ~ expression ~ ', ' ~ tz ~ ')' -%}
    case
        when from_utc_timestamp({{ earlier }} + interval 1 hour, {{ tz }}) = {{ expression }}
            then {{ earlier }} + interval 1 hour
        else {{ earlier }}
    end
{%- endmacro %}

{#- ISO day of week, Monday = 1 … Sunday = 7. -#}
{% macro iso_day_of_week(expression) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'leadbridge')(expression)) }}
{%- endmacro %}
{% macro default__iso_day_of_week(expression) -%}
    cast(extract(isodow from {{ expression }}) as {{ dbt.type_int() }})
{%- endmacro %}
{% macro spark__iso_day_of_week(expression) -%}
    cast(extract(dayofweek_iso from {{ expression }}) as {{ dbt.type_int() }})
{%- endmacro %}

{#- Hour of day 0-23. -#}
{% macro hour_of_day(expression) -%}
    cast(extract(hour from {{ expression }}) as {{ dbt.type_int() }})
{%- endmacro %}

{#- dbt-spark's dateadd multiplies `interval` unparenthesized (`row_number() - 1 * 3600`:
    dbt.date_spine's hours became seconds) and goes through Unix seconds; Spark's own
    timestampadd counts calendar units as the other engines do. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, cast(({{ interval }}) as bigint), {{ from_date_or_timestamp }})
{%- endmacro %}

{#- dbt-spark's datediff rounds the elapsed seconds up to whole hours or minutes
    (08:16:51 to 08:19:52 is 4 minutes there); DuckDB and PostgreSQL count the boundaries
    crossed (3). Days are counted as dbt-spark counts them (calendar dates); the project
    uses no longer part. -#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- set seconds = {'hour': 3600, 'minute': 60, 'second': 1} -%}
    {%- if datepart in seconds -%}
        (floor(unix_timestamp({{ second_date }}) / {{ seconds[datepart] }})
            - floor(unix_timestamp({{ first_date }}) / {{ seconds[datepart] }}))
    {%- elif datepart == 'day' -%}
        datediff({{ second_date }}, {{ first_date }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("spark__datediff: no '" ~ datepart ~ "' on Spark") }}
    {%- endif -%}
{%- endmacro %}
