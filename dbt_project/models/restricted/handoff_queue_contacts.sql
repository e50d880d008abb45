-- One row per person in the hand-off queue (marts.mart_handoff_queue) with whom to call and who owns them: the sales team's work list (PII; granted to marketing and sales only).
with queue as (

    select * from {{ ref('mart_handoff_queue') }}

),

contacts as (

    select * from {{ ref('person_contacts') }}

),

owners as (

    select * from {{ ref('owner_contacts') }}

)

select
    queue.person_id,
    queue.queue_position,
    queue.handoff_id,
    contacts.full_name,
    contacts.email,
    contacts.phone,
    contacts.job_title,
    contacts.company_name,
    queue.owner_key,
    owners.owner_name,
    owners.email as owner_email,
    queue.handoff_at,
    queue.sla_deadline_at,
    queue.business_hours_remaining,
    queue.is_overdue,
    queue.recent_history
from queue
left join contacts on queue.person_id = contacts.person_id
left join owners on queue.owner_key = owners.owner_key
