-- One row per person: the contact details of the person's primary record (live before
-- removed; HubSpot contact, then Salesforce contact, then lead; earliest created). Clear
-- personal data: read by restricted.person_contacts, and by dim_person only to hash the email.
with record_persons as (

    select * from {{ ref('int_identity__record_persons') }}

),

records as (

    select * from {{ ref('int_identity__records') }}

),

ranked as (

    select
        record_persons.person_id,
        records.record_type,
        records.record_id,
        records.email_normalized,
        records.first_name,
        records.last_name,
        records.company_name,
        row_number() over (
            partition by record_persons.person_id
            order by
                case when records.is_removed then 1 else 0 end,
                case records.record_type when 'hubspot_contact' then 1 when 'salesforce_contact' then 2 else 3 end,
                records.created_at,
                records.record_id
        ) as rank_in_person
    from record_persons
    inner join records on record_persons.node_key = records.node_key

),

primary_records as (

    select * from ranked where rank_in_person = 1

)

select
    primary_records.person_id,
    primary_records.record_type as primary_record_type,
    primary_records.record_id as primary_record_id,
    primary_records.email_normalized as email,
    primary_records.first_name,
    primary_records.last_name,
    nullif(trim(coalesce(primary_records.first_name, '') || ' ' || coalesce(primary_records.last_name, '')), '') as full_name,
    primary_records.company_name,
    coalesce(hubspot_contacts.phone, salesforce_contacts.phone, salesforce_leads.phone) as phone,
    coalesce(hubspot_contacts.job_title, salesforce_contacts.title, salesforce_leads.title) as job_title
from primary_records
left join {{ ref('stg_hubspot__contacts') }} as hubspot_contacts
    on primary_records.record_type = 'hubspot_contact' and primary_records.record_id = hubspot_contacts.contact_id
left join {{ ref('stg_salesforce__contacts') }} as salesforce_contacts
    on primary_records.record_type = 'salesforce_contact' and primary_records.record_id = salesforce_contacts.contact_id
left join {{ ref('stg_salesforce__leads') }} as salesforce_leads
    on primary_records.record_type = 'salesforce_lead' and primary_records.record_id = salesforce_leads.lead_id
