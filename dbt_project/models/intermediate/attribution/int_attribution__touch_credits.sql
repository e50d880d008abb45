-- One row per opportunity per campaign touch in its lookback window, with the credit
-- share under each attribution model of the lead contract (first_touch, last_touch,
-- linear, w_shaped). Touches count from `attribution_lookback_days` before the
-- opportunity was created up to its creation. W-shaped key touches: the first touch, the
-- lead-conversion touch (last touch at or before the latest MQL entry before the
-- opportunity) and the opportunity-creation touch (the last touch); the middle weight is
-- split over the other touches; the shares are renormalised to sum to 1.
with opportunities as (

    select * from {{ ref('int_opportunities__persons') }}
    where person_id is not null

),

touches as (

    select * from {{ ref('int_marketing__campaign_touches') }}

),

settings as (

    select
        {{ contract_rule('attribution_lookback_days', dbt.type_int()) }} as lookback_days,
        {{ contract_rule('attribution_w_first_weight', dbt.type_numeric()) }} as w_first,
        {{ contract_rule('attribution_w_lead_weight', dbt.type_numeric()) }} as w_lead,
        {{ contract_rule('attribution_w_opportunity_weight', dbt.type_numeric()) }} as w_opportunity,
        {{ contract_rule('attribution_w_middle_weight', dbt.type_numeric()) }} as w_middle

),

mql_before_opportunity as (

    select
        opportunities.opportunity_id,
        max(timeline.valid_from) as mql_at
    from opportunities
    inner join {{ ref('int_lifecycle__stage_timeline') }} as timeline
        on opportunities.person_id = timeline.person_id
        and timeline.canonical_stage = 'mql'
        and timeline.valid_from <= opportunities.created_at
    group by opportunities.opportunity_id

),

in_window as (

    select
        opportunities.opportunity_id,
        opportunities.person_id,
        opportunities.account_key,
        opportunities.amount,
        opportunities.is_won,
        opportunities.created_at as opportunity_created_at,
        mql_before_opportunity.mql_at,
        touches.campaign_touch_id,
        touches.campaign_key,
        touches.touched_at,
        touches.touch_type,
        row_number() over (
            partition by opportunities.opportunity_id
            order by touches.touched_at, touches.campaign_touch_id
        ) as position_from_first,
        row_number() over (
            partition by opportunities.opportunity_id
            order by touches.touched_at desc, touches.campaign_touch_id desc
        ) as position_from_last,
        count(*) over (partition by opportunities.opportunity_id) as touches_in_window
    from opportunities
    cross join settings
    inner join touches
        on opportunities.person_id = touches.person_id
        and touches.touched_at <= opportunities.created_at
        and touches.touched_at >= {{ dbt.dateadd('day', '-1 * settings.lookback_days', 'opportunities.created_at') }}
    left join mql_before_opportunity
        on opportunities.opportunity_id = mql_before_opportunity.opportunity_id

),

lead_touches as (

    select opportunity_id, max(position_from_first) as lead_touch_position
    from in_window
    where mql_at is not null and touched_at <= mql_at
    group by opportunity_id

),

roles as (

    select
        in_window.*,
        in_window.position_from_first = 1 as is_first_touch,
        in_window.position_from_last = 1 as is_opportunity_touch,
        coalesce(in_window.position_from_first = lead_touches.lead_touch_position, false) as is_lead_touch
    from in_window
    left join lead_touches on in_window.opportunity_id = lead_touches.opportunity_id

),

weighted as (

    select
        roles.*,
        sum(case when not (is_first_touch or is_opportunity_touch or is_lead_touch) then 1 else 0 end)
            over (partition by opportunity_id) as middle_touches,
        settings.w_first,
        settings.w_lead,
        settings.w_opportunity,
        settings.w_middle
    from roles
    cross join settings

),

raw_w as (

    select
        weighted.*,
        (case when is_first_touch then w_first else 0 end)
        + (case when is_lead_touch then w_lead else 0 end)
        + (case when is_opportunity_touch then w_opportunity else 0 end)
        + (case
            when not (is_first_touch or is_opportunity_touch or is_lead_touch)
                then w_middle / middle_touches
            else 0
        end) as w_shaped_raw
    from weighted

)

select
    opportunity_id,
    person_id,
    account_key,
    amount,
    is_won,
    opportunity_created_at,
    campaign_touch_id,
    campaign_key,
    touched_at,
    touch_type,
    cast(position_from_first as {{ dbt.type_int() }}) as touch_position,
    cast(touches_in_window as {{ dbt.type_int() }}) as touches_in_window,
    is_first_touch,
    is_lead_touch,
    is_opportunity_touch,
    cast(case when position_from_first = 1 then 1 else 0 end as numeric(18, 6)) as first_touch_credit,
    cast(case when position_from_last = 1 then 1 else 0 end as numeric(18, 6)) as last_touch_credit,
    cast(round(1.0 / touches_in_window, 6) as numeric(18, 6)) as linear_credit,
    cast(round(w_shaped_raw / sum(w_shaped_raw) over (partition by opportunity_id), 6) as numeric(18, 6)) as w_shaped_credit
from raw_w
