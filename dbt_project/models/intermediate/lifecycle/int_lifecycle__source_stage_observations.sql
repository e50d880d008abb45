-- One row per observation of a stage-bearing source value for a person: HubSpot
-- lifecyclestage / hs_lead_status history (or the contact's stage dates when it has no
-- history), Salesforce Lead.Status (initial status and each change), Opportunity.StageName
-- history, and file-drop list status. Values are not interpreted here; the lead
-- contract's mapping does that in int_lifecycle__mapped_stage_signals.
with record_persons as (

    select node_key, person_id from {{ ref('int_identity__record_persons') }}

),

person_emails as (

    select * from {{ ref('int_identity__person_emails') }}

),

hubspot_history as (

    select
        'hubspot' as source_system,
        property_name as source_field,
        property_value as source_value,
        changed_at as observed_at,
        'contact_property_history' as source_table,
        contact_id || '|' || property_name || '|' || cast(changed_at as {{ dbt.type_string() }}) as source_record_id,
        'hubspot_contact:' || contact_id as node_key
    from {{ ref('stg_hubspot__contact_property_history') }}
    where property_name in ('lifecyclestage', 'hs_lead_status')
        and nullif(trim(property_value), '') is not null

),

contacts_without_stage_history as (

    select contacts.*
    from {{ ref('stg_hubspot__contacts') }} as contacts
    where not exists (
        select 1 from hubspot_history
        where hubspot_history.node_key = 'hubspot_contact:' || contacts.contact_id
            and hubspot_history.source_field = 'lifecyclestage'
    )

),

hubspot_stage_dates as (

    {%- set stage_date_columns = {
        'subscriber': 'became_subscriber_at',
        'lead': 'became_lead_at',
        'marketingqualifiedlead': 'became_mql_at',
        'salesqualifiedlead': 'became_sql_at',
        'opportunity': 'became_opportunity_at',
        'customer': 'became_customer_at',
    } %}
    {%- for value, column in stage_date_columns.items() %}
    select
        'hubspot' as source_system,
        'lifecyclestage' as source_field,
        '{{ value }}' as source_value,
        {{ column }} as observed_at,
        'contacts' as source_table,
        contact_id || '|{{ column }}' as source_record_id,
        'hubspot_contact:' || contact_id as node_key
    from contacts_without_stage_history
    where {{ column }} is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

lead_status_history as (

    select * from {{ ref('stg_salesforce__lead_history') }}
    where field_name = 'Status' and not coalesce(is_deleted, false)

),

first_status_change as (

    select
        lead_id,
        old_value,
        row_number() over (partition by lead_id order by changed_at, lead_history_id) as change_number
    from lead_status_history

),

lead_initial_status as (

    select
        'salesforce' as source_system,
        'Lead.Status' as source_field,
        coalesce(first_status_change.old_value, leads.lead_status) as source_value,
        leads.created_at as observed_at,
        'lead' as source_table,
        leads.lead_id as source_record_id,
        'salesforce_lead:' || leads.lead_id as node_key
    from {{ ref('stg_salesforce__leads') }} as leads
    left join first_status_change
        on leads.lead_id = first_status_change.lead_id
        and first_status_change.change_number = 1

),

lead_status_changes as (

    select
        'salesforce' as source_system,
        'Lead.Status' as source_field,
        new_value as source_value,
        changed_at as observed_at,
        'lead_history' as source_table,
        lead_history_id as source_record_id,
        'salesforce_lead:' || lead_id as node_key
    from lead_status_history

),

node_observations as (

    select * from hubspot_history
    union all select * from hubspot_stage_dates
    union all select * from lead_initial_status
    union all select * from lead_status_changes

),

opportunity_persons as (

    select * from {{ ref('int_opportunities__persons') }}
    where person_id is not null

),

opportunity_history as (

    select * from {{ ref('stg_salesforce__opportunity_history') }}
    where not coalesce(is_deleted, false)

),

opportunity_stages as (

    select
        'salesforce' as source_system,
        'Opportunity.StageName' as source_field,
        opportunity_history.stage_name as source_value,
        opportunity_history.changed_at as observed_at,
        'opportunity_history' as source_table,
        opportunity_history.opportunity_history_id as source_record_id,
        opportunity_persons.person_id
    from opportunity_history
    inner join opportunity_persons
        on opportunity_history.opportunity_id = opportunity_persons.opportunity_id

    union all

    -- an opportunity without history rows still says what stage it is in
    select
        'salesforce',
        'Opportunity.StageName',
        opportunity_persons.stage_name,
        opportunity_persons.created_at,
        'opportunity',
        opportunity_persons.opportunity_id,
        opportunity_persons.person_id
    from opportunity_persons
    where not exists (
        select 1 from opportunity_history
        where opportunity_history.opportunity_id = opportunity_persons.opportunity_id
    )

),

list_statuses as (

    select
        'files' as source_system,
        'list_members.status' as source_field,
        members.list_status as source_value,
        members.touched_at as observed_at,
        'list_members' as source_table,
        members.file_name || '|' || cast(members.row_number as {{ dbt.type_string() }}) as source_record_id,
        person_emails.person_id
    from {{ ref('stg_files__list_members') }} as members
    inner join person_emails on members.email_normalized = person_emails.email_normalized
    where members.touched_at is not null and members.list_status is not null

)

select
    node_observations.source_system,
    node_observations.source_field,
    node_observations.source_value,
    node_observations.observed_at,
    node_observations.source_table,
    node_observations.source_record_id,
    record_persons.person_id
from node_observations
inner join record_persons on node_observations.node_key = record_persons.node_key
where node_observations.observed_at is not null and node_observations.source_value is not null

union all
select source_system, source_field, source_value, observed_at, source_table, source_record_id, person_id
from opportunity_stages
where observed_at is not null and source_value is not null

union all
select source_system, source_field, source_value, observed_at, source_table, source_record_id, person_id
from list_statuses
