-- One row per calendar day (UTC): the shared marketing and sales KPIs against the lead contract's monthly targets.
with stages as (

    select * from {{ ref('int_lifecycle__stage_timeline') }}

),

milestones as (

    select * from {{ ref('int_lifecycle__person_milestones') }}

),

opportunities as (

    select * from {{ ref('int_opportunities__persons') }}

),

handoffs as (

    select * from {{ ref('int_sla__handoffs') }}

),

bounds as (

    select
        cast({{ dbt.date_trunc('month', 'min(valid_from)') }} as date) as first_day,
        cast({{ leadbridge_now() }} as date) as last_day
    from stages

),

days as (

    select cast(day_spine.date_day as date) as kpi_date
    from (
        {{ dbt.date_spine(
            'day',
            "cast('" ~ var('calendar_start') ~ "' as date)",
            dbt.dateadd('day', 1, 'cast(' ~ leadbridge_now() ~ ' as date)')
        ) }}
    ) as day_spine
    cross join bounds
    where cast(day_spine.date_day as date) >= bounds.first_day
        and cast(day_spine.date_day as date) <= bounds.last_day

),

-- Each funnel KPI counts people on the day of one milestone of
-- int_lifecycle__person_milestones, the one place they are defined (README: "What the
-- numbers mean"); the funnel mart reads the same milestones.
new_leads as (

    select cast(reached_lead_at as date) as kpi_date, count(*) as new_leads
    from milestones
    where reached_lead_at is not null
    group by 1

),

mql_days as (

    -- MQLs by the day of their first MQL entry, and how many of them converted to SQL
    select
        cast(first_mql_at as date) as kpi_date,
        count(*) as mqls,
        sum(case when converted_mql_to_sql then 1 else 0 end) as mqls_converted_to_sql
    from milestones
    where first_mql_at is not null
    group by 1

),

sql_days as (

    select cast(reached_sql_at as date) as kpi_date, count(*) as sqls
    from milestones
    where reached_sql_at is not null
    group by 1

),

opportunity_days as (

    select
        cast(created_at as date) as kpi_date,
        count(*) as opportunities_created,
        sum(coalesce(amount, 0)) as pipeline_created_amount
    from opportunities
    group by 1

),

won_days as (

    select
        close_date as kpi_date,
        count(*) as deals_won,
        sum(coalesce(amount, 0)) as won_revenue
    from opportunities
    where is_won
    group by 1

),

sla_days as (

    select
        cast(handoff_at as date) as kpi_date,
        count(*) as sla_handoffs,
        sum(case when sla_status = 'met' then 1 else 0 end) as sla_met,
        sum(case when sla_status = 'breached' then 1 else 0 end) as sla_breached,
        sum(case when sla_status = 'open' then 1 else 0 end) as sla_open
    from handoffs
    group by 1

),

targets as (

    select
        month_start,
        max(case when kpi = 'new_leads' then target_value end) as new_leads,
        max(case when kpi = 'mqls' then target_value end) as mqls,
        max(case when kpi = 'sqls' then target_value end) as sqls,
        max(case when kpi = 'opportunities' then target_value end) as opportunities,
        max(case when kpi = 'pipeline_amount' then target_value end) as pipeline_amount,
        max(case when kpi = 'won_revenue' then target_value end) as won_revenue,
        max(case when kpi = 'sla_compliance_rate' then target_value end) as sla_compliance_rate,
        max(case when kpi = 'mql_to_sql_rate' then target_value end) as mql_to_sql_rate
    from {{ ref('lead_contract__targets') }}
    group by month_start

),

joined as (

    select
        days.kpi_date,
        cast({{ dbt.date_trunc('month', 'days.kpi_date') }} as date) as kpi_month,
        {{ dbt.datediff(dbt.date_trunc('month', 'days.kpi_date'), dbt.dateadd('month', 1, dbt.date_trunc('month', 'days.kpi_date')), 'day') }} as days_in_month,
        coalesce(new_leads.new_leads, 0) as new_leads,
        coalesce(mql_days.mqls, 0) as mqls,
        coalesce(sql_days.sqls, 0) as sqls,
        coalesce(mql_days.mqls_converted_to_sql, 0) as mqls_converted_to_sql,
        coalesce(opportunity_days.opportunities_created, 0) as opportunities_created,
        coalesce(opportunity_days.pipeline_created_amount, 0) as pipeline_created_amount,
        coalesce(won_days.deals_won, 0) as deals_won,
        coalesce(won_days.won_revenue, 0) as won_revenue,
        coalesce(sla_days.sla_handoffs, 0) as sla_handoffs,
        coalesce(sla_days.sla_met, 0) as sla_met,
        coalesce(sla_days.sla_breached, 0) as sla_breached,
        coalesce(sla_days.sla_open, 0) as sla_open
    from days
    left join new_leads on days.kpi_date = new_leads.kpi_date
    left join mql_days on days.kpi_date = mql_days.kpi_date
    left join sql_days on days.kpi_date = sql_days.kpi_date
    left join opportunity_days on days.kpi_date = opportunity_days.kpi_date
    left join won_days on days.kpi_date = won_days.kpi_date
    left join sla_days on days.kpi_date = sla_days.kpi_date

)

select
    joined.kpi_date,
    joined.kpi_month,
    cast(joined.new_leads as {{ dbt.type_int() }}) as new_leads,
    cast(joined.mqls as {{ dbt.type_int() }}) as mqls,
    cast(joined.sqls as {{ dbt.type_int() }}) as sqls,
    cast(joined.mqls_converted_to_sql as {{ dbt.type_int() }}) as mqls_converted_to_sql,
    cast(joined.opportunities_created as {{ dbt.type_int() }}) as opportunities_created,
    cast(joined.pipeline_created_amount as numeric(18, 2)) as pipeline_created_amount,
    cast(joined.deals_won as {{ dbt.type_int() }}) as deals_won,
    cast(joined.won_revenue as numeric(18, 2)) as won_revenue,
    cast(joined.sla_handoffs as {{ dbt.type_int() }}) as sla_handoffs,
    cast(joined.sla_met as {{ dbt.type_int() }}) as sla_met,
    cast(joined.sla_breached as {{ dbt.type_int() }}) as sla_breached,
    cast(joined.sla_open as {{ dbt.type_int() }}) as sla_open,
    cast(case when joined.mqls > 0 then 1.0 * joined.mqls_converted_to_sql / joined.mqls end as numeric(18, 4)) as mql_to_sql_rate,
    cast(case when joined.sla_met + joined.sla_breached > 0
        then 1.0 * joined.sla_met / (joined.sla_met + joined.sla_breached) end as numeric(18, 4)) as sla_compliance_rate,
    cast(targets.new_leads / joined.days_in_month as numeric(18, 4)) as target_new_leads,
    cast(targets.mqls / joined.days_in_month as numeric(18, 4)) as target_mqls,
    cast(targets.sqls / joined.days_in_month as numeric(18, 4)) as target_sqls,
    cast(targets.opportunities / joined.days_in_month as numeric(18, 4)) as target_opportunities,
    cast(targets.pipeline_amount / joined.days_in_month as numeric(18, 2)) as target_pipeline_amount,
    cast(targets.won_revenue / joined.days_in_month as numeric(18, 2)) as target_won_revenue,
    cast(targets.sla_compliance_rate as numeric(18, 4)) as target_sla_compliance_rate,
    cast(targets.mql_to_sql_rate as numeric(18, 4)) as target_mql_to_sql_rate
from joined
left join targets on joined.kpi_month = targets.month_start
