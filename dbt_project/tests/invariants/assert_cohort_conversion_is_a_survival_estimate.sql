-- The cohort funnel holds what a Kaplan–Meier estimate must: each cohort is the KPI
-- mart's MQLs of its month with their conversions; its curve starts with the whole cohort
-- at risk, never rises and stays within [0, 1]; and the estimate at a horizon is never
-- below the share observed (censoring only removes people from the denominator).
{%- set horizons = [7, 30, 90] %}
with cohorts as (

    select * from {{ ref('mart_cohort_conversion') }}

),

kpis as (

    select kpi_month, sum(mqls) as mqls, sum(mqls_converted_to_sql) as mqls_converted_to_sql
    from {{ ref('mart_kpis_daily') }}
    group by kpi_month

),

curve as (

    select
        survival.*,
        lag(survival) over (partition by cohort_month order by days_since_mql) as previous_survival,
        row_number() over (partition by cohort_month order by days_since_mql) as step
    from {{ ref('mart_sql_survival') }} as survival

)

select cohorts.cohort_month, 'differs from mart_kpis_daily' as failure
from cohorts
inner join kpis on cohorts.cohort_month = kpis.kpi_month
where cohorts.mqls <> kpis.mqls or cohorts.mqls_converted_to_sql <> kpis.mqls_converted_to_sql

union all

select curve.cohort_month, 'first step is not the whole cohort at risk'
from curve
inner join cohorts on curve.cohort_month = cohorts.cohort_month
where curve.step = 1 and curve.mqls_at_risk <> cohorts.mqls

union all

select cohort_month, 'curve rises or leaves [0, 1]'
from curve
where survival < 0 or survival > 1 or survival > previous_survival
    or sql_probability <> 1 - survival

{%- for days in horizons %}

union all

select cohort_month, 'estimate at {{ days }} days below the observed share or outside [0, 1]'
from cohorts
where km_sql_rate_{{ days }}_days < 0 or km_sql_rate_{{ days }}_days > 1
    or km_sql_rate_{{ days }}_days < observed_sql_rate_{{ days }}_days - 0.0001
{%- endfor %}
