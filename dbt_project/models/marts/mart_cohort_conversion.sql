-- One row per MQL cohort month (first MQL entry): the share converted to SQL within 7, 30 and 90 days, as observed and as estimated by Kaplan–Meier (mart_sql_survival).
{%- set horizons = [7, 30, 90] %}
with milestones as (

    select
        cast({{ dbt.date_trunc('month', 'first_mql_at') }} as date) as cohort_month,
        converted_mql_to_sql,
        days_mql_to_sql
    from {{ ref('int_lifecycle__person_milestones') }}
    where first_mql_at is not null and first_mql_at <= {{ leadbridge_now() }}

),

cohorts as (

    select
        cohort_month,
        count(*) as mqls,
        sum(case when converted_mql_to_sql then 1 else 0 end) as mqls_converted_to_sql,
        {%- for days in horizons %}
        sum(case when converted_mql_to_sql and days_mql_to_sql <= {{ days }} then 1 else 0 end) as converted_within_{{ days }}_days{{ ',' if not loop.last }}
        {%- endfor %}
    from milestones
    group by cohort_month

),

survival as (

    select * from {{ ref('mart_sql_survival') }}

),

curves as (

    -- the estimate at a horizon is the curve's last step at or before it (1 before the
    -- first step); past the cohort's last step it is unknown unless the curve hit 0
    select
        cohort_month,
        max(days_since_mql) as days_observed,
        {%- for days in horizons %}
        min(case when days_since_mql <= {{ days }} then survival end) as survival_{{ days }}_days,
        sum(case when days_since_mql >= {{ days }} then sqls + mqls_censored else 0 end) as at_risk_{{ days }}_days,
        {%- endfor %}
        min(survival) as last_survival
    from survival
    group by cohort_month

)

select
    cohorts.cohort_month,
    cast(cohorts.mqls as {{ dbt.type_int() }}) as mqls,
    cast(cohorts.mqls_converted_to_sql as {{ dbt.type_int() }}) as mqls_converted_to_sql,
    cast(cohorts.mqls - cohorts.mqls_converted_to_sql as {{ dbt.type_int() }}) as mqls_censored,
    cast(curves.days_observed as numeric(18, 2)) as days_observed,
    {%- for days in horizons %}
    cast(cohorts.converted_within_{{ days }}_days as {{ dbt.type_int() }}) as converted_within_{{ days }}_days,
    cast(curves.at_risk_{{ days }}_days as {{ dbt.type_int() }}) as mqls_at_risk_{{ days }}_days,
    cast({{ round_number('1.0 * cohorts.converted_within_' ~ days ~ '_days / cohorts.mqls', 4) }} as numeric(18, 4)) as observed_sql_rate_{{ days }}_days,
    cast(case
        when curves.days_observed >= {{ days }} or curves.last_survival = 0
            then {{ round_number('1 - coalesce(curves.survival_' ~ days ~ '_days, 1)', 4) }}
    end as numeric(18, 4)) as km_sql_rate_{{ days }}_days{{ ',' if not loop.last }}
    {%- endfor %}
from cohorts
inner join curves on cohorts.cohort_month = curves.cohort_month
