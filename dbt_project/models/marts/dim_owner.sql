-- One row per owner (a sales or marketing user, matched across HubSpot and Salesforce by email, or a Salesforce queue).
with owners as (

    select * from {{ ref('int_owners__unified') }}

)

select
    owner_key,
    -- the work name colleagues see in the CRM, so that "SLA per owner" reads as names;
    -- clear emails stay in restricted.owner_contacts (README: access rights)
    max(owner_name) as owner_name,
    -- the sales org's team (Salesforce department) first, else HubSpot's primary team
    coalesce(
        max(case when source_system = 'salesforce' then team end),
        max(case when source_system = 'hubspot' then team end)
    ) as team,
    {{ sha256_hex('max(email_normalized)') }} as email_hash,
    max(case when source_system = 'hubspot' then source_owner_id end) as hubspot_owner_id,
    max(case when source_system = 'salesforce' then source_owner_id end) as salesforce_user_id,
    {{ dbt.bool_or('is_queue') }} as is_queue,
    {{ dbt.bool_or('is_active') }} as is_active
from owners
group by owner_key
