-- One row per sales touch with a person, by the night (leadbridge_now()): a completed task
-- (Salesforce or HubSpot) of a touch subtype, a completed Leadbridge follow-up task, or a
-- Salesforce event that has started, per the lead contract's SLA rules. A task touches at
-- its completion, never at its creation nor while open, and a meeting booked for next
-- week is not a touch yet. The one definition of "sales touch" (SLA, SAL rule, timeline).
with tasks as (

    select * from {{ ref('int_sales__tasks') }}
    where completed_at <= {{ leadbridge_now() }}

),

events as (

    select * from {{ ref('stg_salesforce__events') }}
    where not coalesce(is_deleted, false)
        and starts_at is not null

),

record_persons as (

    select node_key, record_id, person_id
    from {{ ref('int_identity__record_persons') }}
    where record_type in ('salesforce_lead', 'salesforce_contact')

),

owners as (

    select source_owner_id, owner_key
    from {{ ref('int_owners__unified') }}
    where source_system = 'salesforce'

),

touch_subtypes as (

    select '|' || lower({{ contract_rule('sla_touch_task_subtypes') }}) || '|' as subtype_list

),

task_touches as (

    select
        tasks.source_system,
        tasks.source_table,
        tasks.task_id as source_record_id,
        tasks.person_id,
        tasks.completed_at as touched_at,
        'task_' || lower(coalesce(tasks.task_type, 'task')) as touch_type,
        tasks.subject,
        tasks.owner_key
    from tasks
    cross join touch_subtypes
    where touch_subtypes.subtype_list like '%|' || lower(tasks.task_type) || '|%'
        or (tasks.is_leadbridge_follow_up and {{ contract_flag('sla_touch_counts_follow_ups') }})

),

event_touches as (

    select
        'salesforce' as source_system,
        'event' as source_table,
        events.event_id as source_record_id,
        record_persons.person_id,
        events.starts_at as touched_at,
        'meeting' as touch_type,
        events.subject,
        owners.owner_key
    from events
    inner join record_persons on events.who_id = record_persons.record_id
    left join owners on events.owner_id = owners.source_owner_id
    where {{ contract_flag('sla_touch_counts_events') }}
        and events.starts_at <= {{ leadbridge_now() }}

)

select * from task_touches
union all
select * from event_touches
