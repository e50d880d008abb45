-- One row per person: which systems hold them, which fields disagree between HubSpot and Salesforce, and the hand-off sync lag.
with persons as (

    select * from {{ ref('dim_person') }}

),

hubspot_contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

salesforce_leads as (

    select * from {{ ref('stg_salesforce__leads') }}

),

salesforce_contacts as (

    select * from {{ ref('stg_salesforce__contacts') }}

),

owners as (

    select * from {{ ref('int_owners__unified') }}

),

salesforce_firsts as (

    select person_id, min(created_at) as first_salesforce_record_at
    from {{ ref('int_identity__record_persons') }}
    where source_system = 'salesforce' and record_exists
    group by person_id

),

first_handoff as (

    select person_id, min(handoff_at) as first_handoff_at
    from {{ ref('int_sla__handoffs') }}
    group by person_id

),

compared as (

    select
        persons.person_id,
        persons.hubspot_record_count > 0 as in_hubspot,
        persons.salesforce_record_count > 0 as in_salesforce,
        hubspot_contacts.email_normalized as hubspot_email,
        coalesce(salesforce_contacts.email_normalized, salesforce_leads.email_normalized) as salesforce_email,
        lower(trim(hubspot_contacts.first_name || ' ' || hubspot_contacts.last_name)) as hubspot_name,
        lower(trim(coalesce(
            salesforce_contacts.first_name || ' ' || salesforce_contacts.last_name,
            salesforce_leads.first_name || ' ' || salesforce_leads.last_name
        ))) as salesforce_name,
        hubspot_owner.owner_key as hubspot_owner_key,
        salesforce_owner.owner_key as salesforce_owner_key,
        persons.has_ambiguous_email,
        salesforce_firsts.first_salesforce_record_at,
        first_handoff.first_handoff_at
    from persons
    left join hubspot_contacts on persons.hubspot_contact_id = hubspot_contacts.contact_id
    left join salesforce_leads on persons.salesforce_lead_id = salesforce_leads.lead_id
    left join salesforce_contacts on persons.salesforce_contact_id = salesforce_contacts.contact_id
    left join owners as hubspot_owner
        on hubspot_owner.source_system = 'hubspot' and hubspot_owner.source_owner_id = hubspot_contacts.owner_id
    left join owners as salesforce_owner
        on salesforce_owner.source_system = 'salesforce'
        and salesforce_owner.source_owner_id = coalesce(salesforce_contacts.owner_id, salesforce_leads.owner_id)
    left join salesforce_firsts on persons.person_id = salesforce_firsts.person_id
    left join first_handoff on persons.person_id = first_handoff.person_id

)

select
    person_id,
    in_hubspot,
    in_salesforce,
    case
        when in_hubspot and in_salesforce then 'both'
        when in_hubspot then 'hubspot_only'
        else 'salesforce_only'
    end as system_presence,
    coalesce(in_hubspot and in_salesforce and hubspot_email <> salesforce_email, false) as email_disagrees,
    coalesce(in_hubspot and in_salesforce and hubspot_name <> salesforce_name, false) as name_disagrees,
    coalesce(in_hubspot and in_salesforce and hubspot_owner_key <> salesforce_owner_key, false) as owner_disagrees,
    has_ambiguous_email,
    first_handoff_at,
    first_salesforce_record_at,
    case
        when first_handoff_at is not null and first_salesforce_record_at is not null
            then cast(greatest(0, {{ dbt.datediff('first_handoff_at', 'first_salesforce_record_at', 'minute') }}) as {{ dbt.type_bigint() }})
    end as handoff_sync_lag_minutes,
    (first_handoff_at is not null and first_salesforce_record_at is null) as is_handoff_missing_in_salesforce
from compared
