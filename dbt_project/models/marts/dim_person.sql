-- One row per person (unified across HubSpot contacts, Salesforce leads and contacts).
{#- Incremental on the people touched: a row is a function of the inputs
    int_people__person_fingerprints hashes per person, so a run rebuilds the people whose
    fingerprint changed (and drops the merged-away or removed) and keeps the others' rows;
    the same rows as --full-refresh. -#}
{{ config(
    materialized=incremental_or_table(),
    unique_key='person_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook=["{{ delete_rows_of_changed_people(ref('int_people__person_fingerprints')) }}"]
) }}

with
{%- if is_incremental() %}

rebuilt_persons as (

    {{ rebuilt_people(ref('int_people__person_fingerprints')) }}

),
{%- endif %}

record_persons as (

    select * from {{ ref('int_identity__record_persons') }}
    where {{ of_rebuilt_people('person_id') }}

),

records as (

    select * from {{ ref('int_identity__records') }}

),

person_records as (

    select
        record_persons.person_id,
        record_persons.has_ambiguous_email,
        records.*,
        row_number() over (
            partition by record_persons.person_id, records.record_type
            order by case when records.is_removed then 1 else 0 end, records.created_at, records.record_id
        ) as rank_in_type
    from record_persons
    inner join records on record_persons.node_key = records.node_key

),

persons as (

    select
        person_id,
        max(case when record_type = 'hubspot_contact' and rank_in_type = 1 then record_id end) as hubspot_contact_id,
        max(case when record_type = 'salesforce_lead' and rank_in_type = 1 then record_id end) as salesforce_lead_id,
        max(case when record_type = 'salesforce_contact' and rank_in_type = 1 then record_id end) as salesforce_contact_id,
        sum(case when source_system = 'hubspot' then 1 else 0 end) as hubspot_record_count,
        sum(case when source_system = 'salesforce' then 1 else 0 end) as salesforce_record_count,
        {{ dbt.bool_or('has_ambiguous_email') }} as has_ambiguous_email,
        min(created_at) as created_at
    from person_records
    group by person_id

),

link_rules as (

    select person_id, {{ dbt.listagg('link_rule', "', '", 'order by link_rule') }} as identity_rules
    from (
        select distinct record_persons.person_id, edges.link_rule
        from {{ ref('int_identity__edges') }} as edges
        inner join record_persons on edges.node_a = record_persons.node_key
        where edges.link_rule <> 'record'
    ) as distinct_rules
    group by person_id

),

current_owner as (

    select person_id, owner_key
    from (
        select
            person_id,
            owner_key,
            row_number() over (partition by person_id order by assigned_at desc, source_system desc, source_record_id desc) as owner_rank
        from {{ ref('int_people__owner_assignments') }}
        where owner_key is not null and assigned_at <= {{ leadbridge_now() }} and {{ of_rebuilt_people('person_id') }}
    ) as ranked
    where owner_rank = 1

),

accounts as (

    select * from {{ ref('int_accounts__unified') }}

),

hubspot_contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

salesforce_contacts as (

    select * from {{ ref('stg_salesforce__contacts') }}

),

salesforce_leads as (

    select * from {{ ref('stg_salesforce__leads') }}

),

first_campaign_touch as (

    select person_id, campaign_key
    from (
        select
            person_id,
            campaign_key,
            row_number() over (partition by person_id order by touched_at, campaign_touch_id) as touch_rank
        from {{ ref('int_marketing__campaign_touches') }}
        where {{ of_rebuilt_people('person_id') }}
    ) as ranked
    where touch_rank = 1

),

milestones as (

    select * from {{ ref('int_lifecycle__person_milestones') }}
    where {{ of_rebuilt_people('person_id') }}

),

contacts as (

    select * from {{ ref('int_people__contacts') }}
    where {{ of_rebuilt_people('person_id') }}

)
,

person_rows as (

    select
        persons.person_id,
        persons.hubspot_contact_id,
        persons.salesforce_lead_id,
        persons.salesforce_contact_id,
        cast(persons.hubspot_record_count as {{ dbt.type_int() }}) as hubspot_record_count,
        cast(persons.salesforce_record_count as {{ dbt.type_int() }}) as salesforce_record_count,
        -- clear contact details are in restricted.person_contacts (PII, see README)
        {{ sha256_hex('contacts.email') }} as email_hash,
        milestones.current_stage,
        milestones.current_stage_since,
        current_owner.owner_key,
        coalesce(contact_account.account_key, lead_account.account_key, company_account.account_key) as account_key,
        coalesce(hubspot_contacts.analytics_source, salesforce_contacts.lead_source, salesforce_leads.lead_source) as source_channel,
        first_campaign_touch.campaign_key as first_touch_campaign_key,
        milestones.first_lead_at,
        milestones.first_mql_at,
        milestones.first_sql_at,
        coalesce(milestones.mql_entries, 0) as mql_entries,
        coalesce(persons.has_ambiguous_email, false) as has_ambiguous_email,
        coalesce(link_rules.identity_rules, '') as identity_rules,
        persons.created_at,
        fingerprints.build_fingerprint,
        {{ built_at() }} as built_at
    from persons
    inner join {{ ref('int_people__person_fingerprints') }} as fingerprints on persons.person_id = fingerprints.person_id
    left join milestones on persons.person_id = milestones.person_id
    left join contacts on persons.person_id = contacts.person_id
    left join current_owner on persons.person_id = current_owner.person_id
    left join link_rules on persons.person_id = link_rules.person_id
    left join hubspot_contacts on persons.hubspot_contact_id = hubspot_contacts.contact_id
    left join salesforce_contacts on persons.salesforce_contact_id = salesforce_contacts.contact_id
    left join salesforce_leads on persons.salesforce_lead_id = salesforce_leads.lead_id
    left join accounts as contact_account
        on contact_account.source_system = 'salesforce' and contact_account.source_account_id = salesforce_contacts.account_id
    left join accounts as lead_account
        on lead_account.source_system = 'salesforce' and lead_account.source_account_id = salesforce_leads.converted_account_id
    left join accounts as company_account
        on company_account.source_system = 'hubspot' and company_account.source_account_id = hubspot_contacts.company_id
    left join first_campaign_touch on persons.person_id = first_campaign_touch.person_id

)

{#- Postgres types string expressions as `text` and the contract's columns as `varchar`;
    an incremental run compares the two (on_schema_change), as in fct_lead_events. #}
{%- set string_type = column_type('varchar') %}
select
    {%- for column in ['person_id', 'hubspot_contact_id', 'salesforce_lead_id', 'salesforce_contact_id'] %}
    cast({{ column }} as {{ string_type }}) as {{ column }},
    {%- endfor %}
    hubspot_record_count,
    salesforce_record_count,
    {%- for column in ['email_hash', 'current_stage'] %}
    cast({{ column }} as {{ string_type }}) as {{ column }},
    {%- endfor %}
    current_stage_since,
    {%- for column in ['owner_key', 'account_key', 'source_channel', 'first_touch_campaign_key'] %}
    cast({{ column }} as {{ string_type }}) as {{ column }},
    {%- endfor %}
    first_lead_at,
    first_mql_at,
    first_sql_at,
    cast(mql_entries as {{ dbt.type_int() }}) as mql_entries,
    has_ambiguous_email,
    cast(identity_rules as {{ string_type }}) as identity_rules,
    created_at,
    cast(build_fingerprint as {{ string_type }}) as build_fingerprint,
    built_at
from person_rows
