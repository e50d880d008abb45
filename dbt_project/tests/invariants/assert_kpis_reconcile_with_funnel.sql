-- mart_kpis_daily and fct_funnel count the same people each month: MQLs by their first
-- MQL entry, SQLs by when they reached SQL, and the MQL cohort's conversions to SQL.
-- Both read int_lifecycle__person_milestones; this guards that neither recomputes it.
-- The KPI days run from calendar_start to the night (leadbridge_now()); so do the
-- funnel dates compared here.
{%- set in_kpi_days = "between cast('" ~ var('calendar_start') ~ "' as date) and cast(" ~ leadbridge_now() ~ " as date)" %}
with kpis as (

    select
        kpi_month,
        sum(mqls) as mqls,
        sum(sqls) as sqls,
        sum(mqls_converted_to_sql) as mqls_converted_to_sql
    from {{ ref('mart_kpis_daily') }}
    group by kpi_month

),

funnel_mqls as (

    select
        cast({{ dbt.date_trunc('month', 'first_mql_at') }} as date) as kpi_month,
        count(*) as mqls,
        sum(case when converted_mql_to_sql then 1 else 0 end) as mqls_converted_to_sql
    from {{ ref('fct_funnel') }}
    where cast(first_mql_at as date) {{ in_kpi_days }}
    group by 1

),

funnel_sqls as (

    select cast({{ dbt.date_trunc('month', 'reached_sql_at') }} as date) as kpi_month, count(*) as sqls
    from {{ ref('fct_funnel') }}
    where cast(reached_sql_at as date) {{ in_kpi_days }}
    group by 1

),

funnel as (

    select
        coalesce(funnel_mqls.kpi_month, funnel_sqls.kpi_month) as kpi_month,
        coalesce(funnel_mqls.mqls, 0) as mqls,
        coalesce(funnel_sqls.sqls, 0) as sqls,
        coalesce(funnel_mqls.mqls_converted_to_sql, 0) as mqls_converted_to_sql
    from funnel_mqls
    full outer join funnel_sqls on funnel_mqls.kpi_month = funnel_sqls.kpi_month

)

select
    coalesce(kpis.kpi_month, funnel.kpi_month) as kpi_month,
    kpis.mqls as kpi_mqls,
    funnel.mqls as funnel_mqls,
    kpis.sqls as kpi_sqls,
    funnel.sqls as funnel_sqls,
    kpis.mqls_converted_to_sql as kpi_conversions,
    funnel.mqls_converted_to_sql as funnel_conversions
from kpis
full outer join funnel on kpis.kpi_month = funnel.kpi_month
where coalesce(kpis.mqls, 0) <> coalesce(funnel.mqls, 0)
    or coalesce(kpis.sqls, 0) <> coalesce(funnel.sqls, 0)
    or coalesce(kpis.mqls_converted_to_sql, 0) <> coalesce(funnel.mqls_converted_to_sql, 0)
