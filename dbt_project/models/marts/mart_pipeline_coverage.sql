-- One row per month and per quarter from the current one on with a won-revenue target: open pipeline closing in the period against the target still to win, and the coverage a trailing win rate needs.
{#- The win rate trails twelve months of closed opportunities, by amount, as coverage
    is by amount. An open opportunity whose close date has passed counts in no period:
    it belongs to whichever period sales moves it to. #}
{%- set win_rate_months = 12 %}
with today as (

    select cast({{ leadbridge_now() }} as date) as today

),

monthly_targets as (

    select cast(month_start as date) as month_start, target_value
    from {{ ref('lead_contract__targets') }}
    where kpi = 'won_revenue'

),

periods as (

    select
        period_type,
        period_start,
        cast({{ dbt.dateadd('month', 'period_months', 'period_start') }} as date) as next_period_start,
        sum(target_value) as won_revenue_target
    from (
        select 'month' as period_type, 1 as period_months, month_start as period_start, target_value
        from monthly_targets
        union all
        select 'quarter', 3, cast({{ dbt.date_trunc('quarter', 'month_start') }} as date), target_value
        from monthly_targets
    ) as period_targets
    group by period_type, period_months, period_start

),

opportunities as (

    select
        close_date,
        is_closed,
        is_won,
        coalesce(amount, 0) as amount
    from {{ ref('int_opportunities__persons') }}

),

win_rate as (

    select
        sum(case when is_won then amount else 0 end) as trailing_won_amount,
        sum(amount) as trailing_closed_amount
    from opportunities
    cross join today
    where is_closed
        and close_date <= today.today
        and close_date > cast({{ dbt.dateadd('month', -win_rate_months, 'today.today') }} as date)

),

period_amounts as (

    select
        periods.period_type,
        periods.period_start,
        periods.next_period_start,
        periods.won_revenue_target,
        sum(case when opportunities.is_won then opportunities.amount else 0 end) as won_revenue,
        sum(case when not opportunities.is_closed then opportunities.amount else 0 end) as open_pipeline_amount,
        sum(case when not opportunities.is_closed then 1 else 0 end) as open_opportunities
    from periods
    cross join today
    left join opportunities
        on opportunities.close_date >= periods.period_start
        and opportunities.close_date < periods.next_period_start
    where periods.next_period_start > today.today
    group by periods.period_type, periods.period_start, periods.next_period_start, periods.won_revenue_target

),

coverage as (

    select
        period_amounts.*,
        greatest(won_revenue_target - won_revenue, 0) as remaining_target,
        win_rate.trailing_won_amount,
        win_rate.trailing_closed_amount,
        case when win_rate.trailing_closed_amount > 0
            then 1.0 * win_rate.trailing_won_amount / win_rate.trailing_closed_amount end as win_rate
    from period_amounts
    cross join win_rate

)

select
    {{ dbt.concat(['period_type', "':'", "cast(period_start as " ~ dbt.type_string() ~ ")"]) }} as coverage_period_id,
    cast(period_type as {{ dbt.type_string() }}) as period_type,
    period_start,
    cast({{ dbt.dateadd('day', -1, 'next_period_start') }} as date) as period_end,
    cast(won_revenue_target as numeric(18, 2)) as won_revenue_target,
    cast(coalesce(won_revenue, 0) as numeric(18, 2)) as won_revenue,
    cast(remaining_target as numeric(18, 2)) as remaining_target,
    cast(coalesce(open_pipeline_amount, 0) as numeric(18, 2)) as open_pipeline_amount,
    cast(coalesce(open_opportunities, 0) as {{ dbt.type_int() }}) as open_opportunities,
    cast(coalesce(trailing_won_amount, 0) as numeric(18, 2)) as trailing_won_amount,
    cast(coalesce(trailing_closed_amount, 0) as numeric(18, 2)) as trailing_closed_amount,
    cast({{ round_number('win_rate', 4) }} as numeric(18, 4)) as win_rate,
    cast(case when remaining_target > 0
        then {{ round_number('coalesce(open_pipeline_amount, 0) / remaining_target', 4) }} end as numeric(18, 4)) as pipeline_coverage,
    cast(case when win_rate > 0 then {{ round_number('1 / win_rate', 4) }} end as numeric(18, 4)) as coverage_needed,
    case when remaining_target > 0 and win_rate > 0
        then coalesce(open_pipeline_amount, 0) * win_rate >= remaining_target end as is_covered
from coverage
