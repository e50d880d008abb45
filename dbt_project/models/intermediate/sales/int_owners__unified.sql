-- One row per source owner id (HubSpot owner, Salesforce user, Salesforce queue) with the
-- unified owner key: people who own records in both systems are matched by normalized
-- email; queues (ids starting 00G) and owners without email keep a per-system key.
with hubspot_owners as (

    select
        'hubspot' as source_system,
        owner_id as source_owner_id,
        email_normalized,
        trim(coalesce(first_name, '') || ' ' || coalesce(last_name, '')) as owner_name,
        primary_team as team,
        false as is_queue,
        not coalesce(is_archived, false) as is_active
    from {{ ref('stg_hubspot__owners') }}

),

salesforce_users as (

    select
        'salesforce' as source_system,
        user_id as source_owner_id,
        email_normalized,
        full_name as owner_name,
        department as team,
        false as is_queue,
        coalesce(is_active, false) as is_active
    from {{ ref('stg_salesforce__users') }}

),

salesforce_owner_refs as (

    select owner_id from {{ ref('stg_salesforce__leads') }}
    union select owner_id from {{ ref('stg_salesforce__contacts') }}
    union select owner_id from {{ ref('stg_salesforce__accounts') }}
    union select owner_id from {{ ref('stg_salesforce__opportunities') }}

),

salesforce_queues as (

    select
        'salesforce' as source_system,
        owner_id as source_owner_id,
        cast(null as {{ dbt.type_string() }}) as email_normalized,
        'Queue ' || owner_id as owner_name,
        cast(null as {{ dbt.type_string() }}) as team,
        true as is_queue,
        true as is_active
    from salesforce_owner_refs
    where owner_id like '00G%'

),

unioned as (

    select * from hubspot_owners
    union all select * from salesforce_users
    union all select * from salesforce_queues

)

select
    source_system,
    source_owner_id,
    {{ dbt.hash("coalesce('email:' || email_normalized, source_system || ':' || source_owner_id)") }} as owner_key,
    email_normalized,
    owner_name,
    team,
    is_queue,
    is_active
from unioned
