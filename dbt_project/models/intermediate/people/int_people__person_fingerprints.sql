-- One row per person: the fingerprint of what their dim_person row is computed from —
-- their records (as int_identity__records and the staging rows dim_person reads: channel,
-- account ids), identity links, owner assignments (and whether each has happened by the
-- night: the one input that moves with time alone), campaign touches and stage signals
-- (int_lifecycle__person_fingerprints, which the milestones follow), plus the account keys
-- and the version of what a row holds, which restate everyone. dim_person's incremental
-- run rebuilds exactly the people whose fingerprint changed (macros/incremental.sql).
with record_persons as (

    select node_key, person_id, has_ambiguous_email from {{ ref('int_identity__record_persons') }}

),

items as (

    select
        record_persons.person_id,
        {{ key_text(["'record'", 'records.node_key', 'records.record_type', 'records.record_id', 'records.source_system',
                     'records.email_normalized', 'records.created_at', 'records.is_removed',
                     'record_persons.has_ambiguous_email']) }} as item
    from record_persons
    inner join {{ ref('int_identity__records') }} as records on record_persons.node_key = records.node_key
    union all
    select record_persons.person_id, {{ key_text(["'hubspot_contact'", 'contacts.contact_id', 'contacts.analytics_source', 'contacts.company_id']) }}
    from {{ ref('stg_hubspot__contacts') }} as contacts
    inner join record_persons on record_persons.node_key = 'hubspot_contact:' || contacts.contact_id
    union all
    select record_persons.person_id, {{ key_text(["'salesforce_contact'", 'contacts.contact_id', 'contacts.lead_source', 'contacts.account_id']) }}
    from {{ ref('stg_salesforce__contacts') }} as contacts
    inner join record_persons on record_persons.node_key = 'salesforce_contact:' || contacts.contact_id
    union all
    select record_persons.person_id, {{ key_text(["'salesforce_lead'", 'leads.lead_id', 'leads.lead_source', 'leads.converted_account_id']) }}
    from {{ ref('stg_salesforce__leads') }} as leads
    inner join record_persons on record_persons.node_key = 'salesforce_lead:' || leads.lead_id
    union all
    select record_persons.person_id, {{ key_text(["'link'", 'edges.node_a', 'edges.link_rule']) }}
    from {{ ref('int_identity__edges') }} as edges
    inner join record_persons on edges.node_a = record_persons.node_key
    where edges.link_rule <> 'record'
    union all
    select person_id, {{ key_text(["'owner'", 'source_system', 'source_table', 'source_record_id', 'assigned_at', 'owner_key',
                                   'assigned_at <= ' ~ leadbridge_now()]) }}
    from {{ ref('int_people__owner_assignments') }}
    union all
    select person_id, {{ key_text(["'touch'", 'campaign_touch_id', 'touched_at', 'campaign_key']) }}
    from {{ ref('int_marketing__campaign_touches') }}
    union all
    select person_id, {{ key_text(["'stages'", 'build_fingerprint']) }}
    from {{ ref('int_lifecycle__person_fingerprints') }}

),

-- What restates every row: the account keys rows carry, and the version of what a row holds.
global_items as (

    select {{ key_text(["'account'", 'source_system', 'source_account_id', 'account_key']) }} as item
    from {{ ref('int_accounts__unified') }}
    union all
    select 'rows|v1'

),

global_fingerprint as (

    select {{ multiset_hash(['item']) }} as global_hash from global_items

),

person_hashes as (

    select person_id, {{ multiset_hash(['item']) }} as items_hash
    from items
    where person_id is not null
    group by person_id

)

select
    person_hashes.person_id,
    {{ dbt.hash(dbt.concat(['global_fingerprint.global_hash', "'|'", 'person_hashes.person_id', "'|'", 'person_hashes.items_hash'])) }} as build_fingerprint
from person_hashes
cross join global_fingerprint
