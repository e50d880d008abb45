-- One row per sales touch with a person: a completed Salesforce task of a touch subtype,
-- or a Salesforce event that has started (both per the lead contract's SLA rules), by
-- the night (leadbridge_now()): a meeting booked for next week is not a touch yet.
-- The one definition of "sales touch" (SLA, SAL rule, timeline).
with tasks as (

    select * from {{ ref('stg_salesforce__tasks') }}
    where not coalesce(is_deleted, false)
        and completed_at <= {{ leadbridge_now() }}

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
        'salesforce' as source_system,
        'task' as source_table,
        tasks.task_id as source_record_id,
        tasks.who_id,
        tasks.owner_id,
        tasks.completed_at as touched_at,
        'task_' || lower(coalesce(tasks.task_subtype, 'task')) as touch_type,
        tasks.subject
    from tasks
    cross join touch_subtypes
    where touch_subtypes.subtype_list like '%|' || lower(tasks.task_subtype) || '|%'

),

event_touches as (

    select
        'salesforce' as source_system,
        'event' as source_table,
        events.event_id as source_record_id,
        events.who_id,
        events.owner_id,
        events.starts_at as touched_at,
        'meeting' as touch_type,
        events.subject
    from events
    where {{ contract_flag('sla_touch_counts_events') }}
        and events.starts_at <= {{ leadbridge_now() }}

),

touches as (

    select * from task_touches
    union all
    select * from event_touches

)

select
    touches.source_system,
    touches.source_table,
    touches.source_record_id,
    record_persons.person_id,
    touches.touched_at,
    touches.touch_type,
    touches.subject,
    owners.owner_key
from touches
inner join record_persons on touches.who_id = record_persons.record_id
left join owners on touches.owner_id = owners.source_owner_id
