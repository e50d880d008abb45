-- One row per person still in MQL whose latest hand-off waits for a first sales touch
-- (SLA open or breached), as of now: what sales should act on next. Only the latest
-- hand-off counts: when it was touched, sales is working the person, and an older
-- untouched hand-off is no longer something to act on. The one place that rule is
-- computed; activation.act_followup_tasks reads it.
-- Without contact details: sales works the queue from restricted.handoff_queue_contacts.
with latest_handoff as (

    select *
    from (
        select
            handoffs.*,
            row_number() over (
                partition by person_id order by handoff_at desc, handoff_id desc
            ) as handoff_rank
        from {{ ref('int_sla__handoffs') }} as handoffs
    ) as ranked
    where handoff_rank = 1
        and first_touch_at is null

),

milestones as (

    select * from {{ ref('int_lifecycle__person_milestones') }}

),

events as (

    select
        person_id,
        occurred_at,
        cast(cast(occurred_at as date) as {{ dbt.type_string() }}) || ' ' || event_type
            || coalesce(' (' || coalesce(canonical_stage, event_detail) || ')', '') as event_text,
        row_number() over (partition by person_id order by occurred_at desc, event_id desc) as recency
    from {{ ref('fct_lead_events') }}
    -- the queue's people only: the queue changes with the night (ages, positions) and is
    -- rebuilt whole, so it reads the history of the few it lists, not everyone's
    where event_type <> 'owner_assigned'
        and person_id in (select person_id from latest_handoff)

),

next_scheduled as (

    select person_id, min(scheduled_at) as next_scheduled_touch_at
    from {{ ref('int_sales__scheduled_touches') }}
    group by person_id

),

recent_history as (

    select
        person_id,
        {{ dbt.listagg('event_text', "' | '", 'order by occurred_at desc, event_text') }} as recent_history
    from events
    where recency <= 5
    group by person_id

)

select
    latest_handoff.person_id,
    latest_handoff.handoff_id,
    latest_handoff.owner_key_at_handoff as owner_key,
    latest_handoff.handoff_at,
    latest_handoff.sla_deadline_at,
    latest_handoff.business_hours_elapsed,
    cast(latest_handoff.sla_hours - latest_handoff.business_hours_elapsed as numeric(18, 2)) as business_hours_remaining,
    latest_handoff.sla_status = 'breached' as is_overdue,
    milestones.current_stage,
    coalesce(recent_history.recent_history, '') as recent_history,
    next_scheduled.next_scheduled_touch_at,
    cast(row_number() over (order by latest_handoff.sla_deadline_at, latest_handoff.person_id) as {{ dbt.type_int() }}) as queue_position
from latest_handoff
inner join milestones on latest_handoff.person_id = milestones.person_id
left join recent_history on latest_handoff.person_id = recent_history.person_id
left join next_scheduled on latest_handoff.person_id = next_scheduled.person_id
-- still in the hand-off: sales accepting it (SAL: a working status or a touch), a later
-- stage or a reset ends it (lead_contract__stages)
where milestones.current_stage = 'mql'
