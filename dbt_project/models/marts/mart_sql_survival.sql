-- One row per MQL cohort month and time step (days since first MQL entry at which someone reached SQL or was censored): the Kaplan–Meier estimate of the share still without SQL.
{#- A person who has not reached SQL by now is censored at their time in the funnel so
    far: young cohorts then count only what they had time for. Leaving the funnel
    (recycled, disqualified) is not censoring: a recycled person can still reach SQL,
    and converted_mql_to_sql counts that later SQL. #}
with milestones as (

    select * from {{ ref('int_lifecycle__person_milestones') }}
    where first_mql_at is not null and first_mql_at <= {{ leadbridge_now() }}

),

followed as (

    select
        person_id,
        cast({{ dbt.date_trunc('month', 'first_mql_at') }} as date) as cohort_month,
        converted_mql_to_sql,
        days_mql_to_sql,
        cast({{ round_quotient(dbt.datediff('first_mql_at', leadbridge_now(), 'minute'), 1440, 2) }} as numeric(18, 2)) as days_followed
    from milestones

),

observations as (

    select
        cohort_month,
        case when is_event then days_mql_to_sql else days_followed end as days_since_mql,
        is_event
    from (
        select
            followed.*,
            coalesce(converted_mql_to_sql and days_mql_to_sql <= days_followed, false) as is_event
        from followed
    ) as judged

),

steps as (

    select
        cohort_month,
        days_since_mql,
        sum(case when is_event then 1 else 0 end) as sqls,
        sum(case when is_event then 0 else 1 end) as censored
    from observations
    group by cohort_month, days_since_mql

),

at_risk as (

    -- everyone whose time is at or after the step: censored at a step still counts
    -- at risk there (they were observed to get that far without SQL)
    select
        steps.*,
        sum(sqls + censored) over (
            partition by cohort_month order by days_since_mql desc
            rows between unbounded preceding and current row
        ) as mqls_at_risk
    from steps

),

products as (

    -- S(t) = product of (1 - d/n) as exp(sum(ln(...))); a step where everyone at risk
    -- converts has factor 0, which ln cannot take: it ends the curve at 0 instead
    select
        at_risk.*,
        sum(case when sqls < mqls_at_risk then ln(1 - cast(sqls as {{ dbt.type_float() }}) / mqls_at_risk) else 0 end) over (
            partition by cohort_month order by days_since_mql
            rows between unbounded preceding and current row
        ) as log_survival,
        max(case when sqls = mqls_at_risk then 1 else 0 end) over (
            partition by cohort_month order by days_since_mql
            rows between unbounded preceding and current row
        ) as is_exhausted
    from at_risk

),

survival as (

    select
        products.*,
        case when is_exhausted = 1 then 0 else exp(log_survival) end as survival
    from products

)

select
    {{ surrogate_key(['cohort_month', 'days_since_mql']) }} as survival_step_id,
    cohort_month,
    cast(days_since_mql as numeric(18, 2)) as days_since_mql,
    cast(mqls_at_risk as {{ dbt.type_int() }}) as mqls_at_risk,
    cast(sqls as {{ dbt.type_int() }}) as sqls,
    cast(censored as {{ dbt.type_int() }}) as mqls_censored,
    cast({{ round_number('survival', 6) }} as numeric(18, 6)) as survival,
    cast({{ round_number('1 - survival', 6) }} as numeric(18, 6)) as sql_probability
from survival
