-- One row per deterministic identity link between two source records, with the rule
-- that made it. Email links come later (int_identity__email_links), once these
-- clusters are known, so that an ambiguous email never overrides a hard link.
with records as (

    select * from {{ ref('int_identity__records') }}

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

numbers as (

    {{ dbt.generate_series(20) }}

),

converted_leads as (

    select
        'salesforce_lead:' || lead_id as node_a,
        'salesforce_contact:' || converted_contact_id as node_b,
        'salesforce_lead_converted' as link_rule
    from salesforce_leads
    where converted_contact_id is not null

),

hubspot_sync_leads as (

    select
        'hubspot_contact:' || contact_id as node_a,
        'salesforce_lead:' || salesforce_lead_id as node_b,
        'hubspot_salesforce_lead_id' as link_rule
    from hubspot_contacts
    where salesforce_lead_id is not null

),

hubspot_sync_contacts as (

    select
        'hubspot_contact:' || contact_id as node_a,
        'salesforce_contact:' || salesforce_contact_id as node_b,
        'hubspot_salesforce_contact_id' as link_rule
    from hubspot_contacts
    where salesforce_contact_id is not null

),

hubspot_merges as (

    select
        'hubspot_contact:' || hubspot_contacts.contact_id as node_a,
        'hubspot_contact:' || trim({{ split_part_at('hubspot_contacts.merged_contact_ids', "';'", 'numbers.generated_number') }}) as node_b,
        'hubspot_merged_contact' as link_rule
    from hubspot_contacts
    cross join numbers
    where hubspot_contacts.merged_contact_ids is not null
        and trim({{ split_part_at('hubspot_contacts.merged_contact_ids', "';'", 'numbers.generated_number') }}) <> ''

),

salesforce_lead_merges as (

    select
        'salesforce_lead:' || lead_id as node_a,
        'salesforce_lead:' || master_record_id as node_b,
        'salesforce_master_record' as link_rule
    from salesforce_leads
    where master_record_id is not null

),

salesforce_contact_merges as (

    select
        'salesforce_contact:' || contact_id as node_a,
        'salesforce_contact:' || master_record_id as node_b,
        'salesforce_master_record' as link_rule
    from salesforce_contacts
    where master_record_id is not null

),

self_links as (

    -- every record is its own cluster until linked
    select node_key as node_a, node_key as node_b, 'record' as link_rule
    from records

),

unioned as (

    select * from converted_leads
    union all select * from hubspot_sync_leads
    union all select * from hubspot_sync_contacts
    union all select * from hubspot_merges
    union all select * from salesforce_lead_merges
    union all select * from salesforce_contact_merges
    union all select * from self_links

)

select distinct node_a, node_b, link_rule
from unioned
