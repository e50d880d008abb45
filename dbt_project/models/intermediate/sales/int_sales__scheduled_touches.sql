-- One row per sales activity with a person that has not happened by the night
-- (leadbridge_now()): a rep's open task (Salesforce or HubSpot) at its due date, or a
-- meeting that has not started. Scheduled activities are not history: fct_lead_events and
-- the SLA leave them out until they happen (a task at its completion, a meeting at its
-- start); the hand-off queue shows the next one. A Leadbridge follow-up task is
-- Leadbridge's reminder, not a rep's plan: never scheduled (lead contract,
-- sla_touch_counts_follow_ups).
with open_tasks as (

    select
        source_system,
        source_table,
        task_id as source_record_id,
        person_id,
        due_at as scheduled_at,
        'task_' || lower(coalesce(task_type, 'task')) as touch_type,
        owner_key
    from {{ ref('int_sales__tasks') }}
    where not is_closed
        and not is_leadbridge_follow_up
        and cast(due_at as date) >= cast({{ leadbridge_now() }} as date)

),

future_meetings as (

    select
        'salesforce' as source_system,
        'event' as source_table,
        events.event_id as source_record_id,
        record_persons.person_id,
        events.starts_at as scheduled_at,
        'meeting' as touch_type,
        owners.owner_key
    from {{ ref('stg_salesforce__events') }} as events
    inner join {{ ref('int_identity__record_persons') }} as record_persons
        on events.who_id = record_persons.record_id
        and record_persons.record_type in ('salesforce_lead', 'salesforce_contact')
    left join {{ ref('int_owners__unified') }} as owners
        on events.owner_id = owners.source_owner_id
        and owners.source_system = 'salesforce'
    where not coalesce(events.is_deleted, false)
        and events.starts_at > {{ leadbridge_now() }}

)

select * from open_tasks
union all
select * from future_meetings
