-- One row per sales task and the person it is about, Salesforce and HubSpot alike (a
-- HubSpot task associated with contacts of several people has a row for each). A task is
-- completed at its completion time (HubSpot: status COMPLETED) and closed once completed
-- or cancelled; `is_leadbridge_follow_up` marks the tasks Leadbridge created (a key).
-- The one place tasks are read: touches, scheduled touches and fct_lead_events use it.
with salesforce_tasks as (

    select * from {{ ref('stg_salesforce__tasks') }}
    where not coalesce(is_deleted, false)

),

hubspot_tasks as (

    select * from {{ ref('stg_hubspot__tasks') }}
    where not coalesce(is_archived, false)

),

numbers as (

    {{ dbt.generate_series(20) }}

),

hubspot_task_contacts as (

    select
        hubspot_tasks.task_id,
        trim({{ split_part_at('hubspot_tasks.contact_ids', "';'", 'numbers.generated_number') }}) as contact_id
    from hubspot_tasks
    cross join numbers
    where hubspot_tasks.contact_ids is not null
        and trim({{ split_part_at('hubspot_tasks.contact_ids', "';'", 'numbers.generated_number') }}) <> ''

),

record_persons as (

    select record_type, record_id, person_id
    from {{ ref('int_identity__record_persons') }}
    where record_type in ('salesforce_lead', 'salesforce_contact', 'hubspot_contact')

),

salesforce_rows as (

    select
        'salesforce' as source_system,
        'task' as source_table,
        salesforce_tasks.task_id,
        record_persons.person_id,
        salesforce_tasks.owner_id,
        salesforce_tasks.task_subtype as task_type,
        salesforce_tasks.subject,
        cast(salesforce_tasks.activity_date as {{ dbt.type_timestamp() }}) as due_at,
        salesforce_tasks.completed_at,
        salesforce_tasks.completed_at is not null or coalesce(salesforce_tasks.is_closed, false) as is_closed,
        salesforce_tasks.leadbridge_key is not null as is_leadbridge_follow_up
    from salesforce_tasks
    inner join record_persons
        on salesforce_tasks.who_id = record_persons.record_id
        and record_persons.record_type in ('salesforce_lead', 'salesforce_contact')

),

hubspot_rows as (

    select distinct
        'hubspot' as source_system,
        'tasks' as source_table,
        hubspot_tasks.task_id,
        record_persons.person_id,
        hubspot_tasks.owner_id,
        hubspot_tasks.task_type,
        hubspot_tasks.subject,
        hubspot_tasks.due_at,
        -- a completed task without a completion date (not seen): its last change
        case
            when upper(hubspot_tasks.task_status) = 'COMPLETED'
                then coalesce(hubspot_tasks.completed_at, hubspot_tasks.modified_at)
        end as completed_at,
        coalesce(upper(hubspot_tasks.task_status) in ('COMPLETED', 'DEFERRED'), false) as is_closed,
        hubspot_tasks.leadbridge_key is not null as is_leadbridge_follow_up
    from hubspot_tasks
    inner join hubspot_task_contacts on hubspot_tasks.task_id = hubspot_task_contacts.task_id
    inner join record_persons
        on hubspot_task_contacts.contact_id = record_persons.record_id
        and record_persons.record_type = 'hubspot_contact'

),

tasks as (

    select * from salesforce_rows
    union all
    select * from hubspot_rows

)

select
    tasks.source_system,
    tasks.source_table,
    tasks.task_id,
    tasks.person_id,
    tasks.task_type,
    tasks.subject,
    tasks.due_at,
    tasks.completed_at,
    tasks.is_closed,
    tasks.is_leadbridge_follow_up,
    owners.owner_key
from tasks
left join {{ ref('int_owners__unified') }} as owners
    on tasks.owner_id = owners.source_owner_id
    and tasks.source_system = owners.source_system
