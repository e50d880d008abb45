{#- Hooks of every model (and seed) for the Postgres query planner. DuckDB needs neither;
    an empty hook is not run.

    Postgres plans a model from the statistics of the tables it reads, and a table dbt
    created a moment ago has none until autovacuum gets to it: `refresh_statistics`
    (post-hook) analyzes what was just built.

    Even with statistics, joins on computed expressions (the SLA calendar lookups) are
    estimated at millions of rows, which switches on JIT compilation: the SLA model
    spent 6 of its 6.3 seconds compiling a plan for five rows. Warehouse models here are
    many short queries over modest tables, where JIT does not pay: `planner_settings`
    (pre-hook) turns it off for the model's transaction. -#}
{% macro refresh_statistics() -%}
    {{ return(adapter.dispatch('refresh_statistics', 'leadbridge')()) }}
{%- endmacro %}

{% macro default__refresh_statistics() -%}
{%- endmacro %}

{% macro postgres__refresh_statistics() -%}
    {%- if config.get('materialized') in ['table', 'incremental', 'seed'] -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}

{% macro planner_settings() -%}
    {{ return(adapter.dispatch('planner_settings', 'leadbridge')()) }}
{%- endmacro %}

{% macro default__planner_settings() -%}
{%- endmacro %}

{% macro postgres__planner_settings() -%}
    set local jit = off
{%- endmacro %}
