-- One row per sales activity with a person that has not happened by the night
-- (leadbridge_now()): an open Salesforce task at its due date, or a meeting that has not
-- started. Scheduled activities are not history: fct_lead_events and the SLA leave them
-- out until they happen (a task at its completion, a meeting at its start); the hand-off
-- queue shows the next one.
with open_tasks as (

    select
        'task' as source_table,
        task_id as source_record_id,
        who_id,
        owner_id,
        cast(activity_date as {{ dbt.type_timestamp() }}) as scheduled_at,
        'task_' || lower(coalesce(task_subtype, 'task')) as touch_type
    from {{ ref('stg_salesforce__tasks') }}
    where not coalesce(is_deleted, false)
        and completed_at is null
        and activity_date >= cast({{ leadbridge_now() }} as date)

),

future_meetings as (

    select
        'event' as source_table,
        event_id as source_record_id,
        who_id,
        owner_id,
        starts_at as scheduled_at,
        'meeting' as touch_type
    from {{ ref('stg_salesforce__events') }}
    where not coalesce(is_deleted, false)
        and starts_at > {{ leadbridge_now() }}

),

scheduled as (

    select * from open_tasks
    union all
    select * from future_meetings

)

select
    'salesforce' as source_system,
    scheduled.source_table,
    scheduled.source_record_id,
    record_persons.person_id,
    scheduled.scheduled_at,
    scheduled.touch_type,
    owners.owner_key
from scheduled
inner join {{ ref('int_identity__record_persons') }} as record_persons
    on scheduled.who_id = record_persons.record_id
    and record_persons.record_type in ('salesforce_lead', 'salesforce_contact')
left join {{ ref('int_owners__unified') }} as owners
    on scheduled.owner_id = owners.source_owner_id
    and owners.source_system = 'salesforce'
