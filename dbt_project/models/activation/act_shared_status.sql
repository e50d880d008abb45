-- One row per (person, CRM record) that carries Leadbridge's shared status: the person's
-- HubSpot contact, Salesforce contact and Salesforce lead (dim_person's live records),
-- with the canonical stage, first MQL date, SLA status of the latest hand-off and the
-- person key. A converted lead is left out: Salesforce refuses edits to it, and its
-- contact carries the status.
with persons as (

    select * from {{ ref('dim_person') }}
    where person_id not in (select person_id from {{ ref('act_erased_persons') }})

),

converted_leads as (

    select distinct record_id_a as lead_id
    from {{ ref('fct_identity_links') }}
    where link_rule = 'salesforce_lead_converted' and record_type_a = 'salesforce_lead'

),

latest_handoffs as (

    select person_id, sla_status
    from (
        select
            person_id,
            sla_status,
            row_number() over (partition by person_id order by handoff_at desc, handoff_id desc) as handoff_rank
        from {{ ref('fct_sla') }}
    ) as ranked
    where handoff_rank = 1

),

targets as (

    select person_id, 'hubspot' as target_system, 'contacts' as target_object, hubspot_contact_id as record_id
    from persons
    where hubspot_contact_id is not null
    union all
    select person_id, 'salesforce', 'Contact', salesforce_contact_id
    from persons
    where salesforce_contact_id is not null
    union all
    select person_id, 'salesforce', 'Lead', salesforce_lead_id
    from persons
    where salesforce_lead_id is not null
        and salesforce_lead_id not in (select lead_id from converted_leads)

)

select
    {{ surrogate_key(['targets.target_system', 'targets.target_object', 'targets.record_id', "'shared_status'"]) }} as activation_key,
    targets.person_id,
    targets.target_system,
    targets.target_object,
    targets.record_id,
    persons.current_stage as canonical_stage,
    cast(persons.first_mql_at as date) as mql_date,
    latest_handoffs.sla_status
from targets
inner join persons on targets.person_id = persons.person_id
left join latest_handoffs on targets.person_id = latest_handoffs.person_id
