-- One row per person-bearing source record (HubSpot contact, Salesforce lead or contact),
-- deleted, archived and merged-away records included: their history belongs to a person.
with hubspot_contacts as (

    select
        'hubspot_contact:' || contact_id as node_key,
        'hubspot' as source_system,
        'hubspot_contact' as record_type,
        contact_id as record_id,
        email_normalized,
        first_name,
        last_name,
        company_name,
        owner_id as source_owner_id,
        created_at,
        coalesce(is_archived, false) as is_removed
    from {{ ref('stg_hubspot__contacts') }}

),

salesforce_leads as (

    select
        'salesforce_lead:' || lead_id as node_key,
        'salesforce' as source_system,
        'salesforce_lead' as record_type,
        lead_id as record_id,
        email_normalized,
        first_name,
        last_name,
        company_name,
        owner_id as source_owner_id,
        created_at,
        coalesce(is_deleted, false) as is_removed
    from {{ ref('stg_salesforce__leads') }}

),

salesforce_contacts as (

    select
        'salesforce_contact:' || contact_id as node_key,
        'salesforce' as source_system,
        'salesforce_contact' as record_type,
        contact_id as record_id,
        email_normalized,
        first_name,
        last_name,
        cast(null as {{ dbt.type_string() }}) as company_name,
        owner_id as source_owner_id,
        created_at,
        coalesce(is_deleted, false) as is_removed
    from {{ ref('stg_salesforce__contacts') }}

)

select * from hubspot_contacts
union all
select * from salesforce_leads
union all
select * from salesforce_contacts
