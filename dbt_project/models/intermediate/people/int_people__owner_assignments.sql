-- One row per owner assignment of a person's record (HubSpot owner history, Salesforce
-- lead Owner history, a record's initial owner at creation), with the unified owner key.
-- Consecutive assignments to the same owner are kept; readers take the latest one.
with record_persons as (

    select node_key, person_id from {{ ref('int_identity__record_persons') }}

),

owners as (

    select source_system, source_owner_id, owner_key from {{ ref('int_owners__unified') }}

),

hubspot_history as (

    select
        'hubspot' as source_system,
        'contact_property_history' as source_table,
        contact_id || '|hubspot_owner_id|' || cast(changed_at as {{ dbt.type_string() }}) as source_record_id,
        'hubspot_contact:' || contact_id as node_key,
        nullif(trim(property_value), '') as source_owner_id,
        changed_at as assigned_at
    from {{ ref('stg_hubspot__contact_property_history') }}
    where property_name = 'hubspot_owner_id'

),

hubspot_initial as (

    select
        'hubspot' as source_system,
        'contacts' as source_table,
        contacts.contact_id as source_record_id,
        'hubspot_contact:' || contacts.contact_id as node_key,
        contacts.owner_id as source_owner_id,
        contacts.created_at as assigned_at
    from {{ ref('stg_hubspot__contacts') }} as contacts
    where contacts.owner_id is not null
        and not exists (
            select 1 from hubspot_history
            where hubspot_history.node_key = 'hubspot_contact:' || contacts.contact_id
        )

),

lead_owner_history as (

    select * from {{ ref('stg_salesforce__lead_history') }}
    where field_name = 'Owner' and not coalesce(is_deleted, false)

),

salesforce_history as (

    select
        'salesforce' as source_system,
        'lead_history' as source_table,
        lead_history_id as source_record_id,
        'salesforce_lead:' || lead_id as node_key,
        new_value as source_owner_id,
        changed_at as assigned_at
    from lead_owner_history
    -- Salesforce writes an owner change twice (ids and names); the ids are the 005/00G rows
    where new_value like '005%' or new_value like '00G%'

),

first_lead_owner_change as (

    select
        lead_id,
        old_value,
        row_number() over (partition by lead_id order by changed_at, lead_history_id) as change_number
    from lead_owner_history
    where old_value like '005%' or old_value like '00G%'

),

salesforce_lead_initial as (

    select
        'salesforce' as source_system,
        'lead' as source_table,
        leads.lead_id as source_record_id,
        'salesforce_lead:' || leads.lead_id as node_key,
        coalesce(first_lead_owner_change.old_value, leads.owner_id) as source_owner_id,
        leads.created_at as assigned_at
    from {{ ref('stg_salesforce__leads') }} as leads
    left join first_lead_owner_change
        on leads.lead_id = first_lead_owner_change.lead_id
        and first_lead_owner_change.change_number = 1

),

salesforce_contact_initial as (

    select
        'salesforce' as source_system,
        'contact' as source_table,
        contact_id as source_record_id,
        'salesforce_contact:' || contact_id as node_key,
        owner_id as source_owner_id,
        created_at as assigned_at
    from {{ ref('stg_salesforce__contacts') }}

),

assignments as (

    select * from hubspot_history
    union all select * from hubspot_initial
    union all select * from salesforce_history
    union all select * from salesforce_lead_initial
    union all select * from salesforce_contact_initial

)

select
    assignments.source_system,
    assignments.source_table,
    assignments.source_record_id,
    record_persons.person_id,
    assignments.assigned_at,
    assignments.source_owner_id,
    owners.owner_key
from assignments
inner join record_persons on assignments.node_key = record_persons.node_key
left join owners
    on assignments.source_system = owners.source_system
    and assignments.source_owner_id = owners.source_owner_id
where assignments.assigned_at is not null
