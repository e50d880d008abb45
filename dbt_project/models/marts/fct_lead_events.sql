-- One row per event in a person's history: marketing touches, sales activities, source stage changes, lifecycle stage entries, owner assignments and opportunity stage changes.
{#- Incremental: each run replaces the events of the last `lead_events_lookback_days`
    days (late history rows, corrections, deletions) and keeps older ones, except for the
    people whose fingerprint changed (int_lead_events__person_fingerprints: a new record,
    email or opportunity linked to them, a merge, a late history row that rewrites the
    stage or owner a record started with): their whole history is rebuilt. A
    change to the lead contract or to campaign or owner keys changes every fingerprint:
    the pre-hook then drops every row and the run rebuilds them all. So an incremental run
    gives the same rows as --full-refresh. -#}
{{ config(
    materialized=incremental_or_table(),
    unique_key='event_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook=[
        "{{ delete_rows_of_changed_people(ref('int_lead_events__person_fingerprints'), 'occurred_at >= ' ~ lead_events_window_start()) }}"
    ]
) }}

with
{%- if is_incremental() %}

-- people none of whose rows survived the pre-hook: new, or their fingerprint changed
rebuilt_persons as (

    {{ rebuilt_people(ref('int_lead_events__person_fingerprints')) }}

),
{%- endif %}

person_emails as (

    select * from {{ ref('int_identity__person_emails') }}

),

record_persons as (

    select node_key, record_id, person_id from {{ ref('int_identity__record_persons') }}

),

campaign_touches as (

    select * from {{ ref('int_marketing__campaign_touches') }}

),

sales_owners as (

    select source_owner_id, owner_key from {{ ref('int_owners__unified') }}
    where source_system = 'salesforce'

),

form_submissions as (

    select
        person_emails.person_id,
        submissions.submitted_at as occurred_at,
        'marketing_touch' as event_category,
        'form_submission' as event_type,
        'hubspot' as source_system,
        'form_submissions' as source_table,
        submissions.conversion_id as source_record_id,
        campaign_touches.campaign_key,
        cast(null as {{ dbt.type_string() }}) as owner_key,
        cast(null as {{ dbt.type_string() }}) as opportunity_id,
        cast(null as {{ dbt.type_string() }}) as canonical_stage,
        coalesce(forms.form_name, submissions.form_id) as event_detail
    from {{ ref('stg_hubspot__form_submissions') }} as submissions
    inner join person_emails on submissions.email_normalized = person_emails.email_normalized
    left join {{ ref('stg_hubspot__forms') }} as forms on submissions.form_id = forms.form_id
    left join campaign_touches
        on campaign_touches.source_table = 'form_submissions'
        and campaign_touches.source_record_id = submissions.conversion_id
    where {{ lead_events_in_scope('submissions.submitted_at', 'person_emails.person_id') }}

),

email_events as (

    select
        person_emails.person_id,
        events.occurred_at,
        'marketing_touch',
        'email_' || lower(events.event_type),
        'hubspot',
        'email_events',
        events.email_event_id,
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        coalesce(events.url, events.subscription_status, cast(events.email_campaign_id as {{ dbt.type_string() }}))
    from {{ ref('stg_hubspot__email_events') }} as events
    inner join person_emails on events.recipient_normalized = person_emails.email_normalized
    where {{ lead_events_in_scope('events.occurred_at', 'person_emails.person_id') }}

),

campaign_responses as (

    select
        person_id,
        touched_at,
        'marketing_touch',
        'campaign_response',
        source_system,
        source_table,
        source_record_id,
        campaign_key,
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }})
    from campaign_touches
    where source_table = 'campaign_member' and {{ lead_events_in_scope('touched_at', 'person_id') }}

),

list_rows as (

    select
        person_emails.person_id,
        members.touched_at,
        'marketing_touch',
        'list_' || lower(members.list_status),
        'files',
        'list_members',
        members.file_name || '|' || cast(members.row_number as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        members.list_name
    from {{ ref('stg_files__list_members') }} as members
    inner join person_emails on members.email_normalized = person_emails.email_normalized
    where members.touched_at is not null
        and {{ lead_events_in_scope('members.touched_at', 'person_emails.person_id') }}

),

tasks as (

    select
        tasks.person_id,
        tasks.completed_at,
        'sales_activity',
        'task_' || lower(coalesce(tasks.task_type, 'task')),
        tasks.source_system,
        tasks.source_table,
        tasks.task_id,
        cast(null as {{ dbt.type_string() }}),
        tasks.owner_key,
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        -- a subject is free text a rep typed (names, phone numbers): PII, not published
        cast(null as {{ dbt.type_string() }})
    from {{ ref('int_sales__tasks') }} as tasks
    -- history only: a task at its completion; an open task's due date is a plan
    -- (int_sales__scheduled_touches), not an event, and an open Leadbridge follow-up neither
    where tasks.completed_at <= {{ leadbridge_now() }}
        and {{ lead_events_in_scope('tasks.completed_at', 'tasks.person_id') }}

),

meetings as (

    select
        record_persons.person_id,
        events.starts_at,
        'sales_activity',
        'meeting',
        'salesforce',
        'event',
        events.event_id,
        cast(null as {{ dbt.type_string() }}),
        sales_owners.owner_key,
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }})
    from {{ ref('stg_salesforce__events') }} as events
    inner join record_persons on events.who_id = record_persons.record_id
    left join sales_owners on events.owner_id = sales_owners.source_owner_id
    -- a meeting is history once it has started
    where not coalesce(events.is_deleted, false) and events.starts_at <= {{ leadbridge_now() }}
        and {{ lead_events_in_scope('events.starts_at', 'record_persons.person_id') }}

),

source_stage_changes as (

    select
        observations.person_id,
        observations.observed_at,
        'stage_change',
        'source_stage_change',
        observations.source_system,
        observations.source_table,
        observations.source_record_id,
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        mappings.canonical_stage,
        observations.source_field || '=' || observations.source_value
    from {{ ref('int_lifecycle__source_stage_observations') }} as observations
    left join {{ ref('int_lead_contract__stage_mappings') }} as mappings
        on {{ stage_mapping_matches('mappings', 'observations.source_system', 'observations.source_field', 'observations.source_value') }}
    where observations.source_field <> 'Opportunity.StageName'
        and {{ lead_events_in_scope('observations.observed_at', 'observations.person_id') }}

),

lifecycle_entries as (

    select
        person_id,
        valid_from,
        'stage_change',
        'lifecycle_stage_entered',
        source_system,
        source_table,
        source_record_id,
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        canonical_stage,
        entered_by_rule || ': ' || coalesce(signal_detail, '')
    from {{ ref('int_lifecycle__stage_timeline') }}
    where {{ lead_events_in_scope('valid_from', 'person_id') }}

),

owner_changes as (

    select
        person_id,
        assigned_at,
        'owner_change',
        'owner_assigned',
        source_system,
        source_table,
        source_record_id,
        cast(null as {{ dbt.type_string() }}),
        owner_key,
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        source_owner_id
    from {{ ref('int_people__owner_assignments') }}
    where {{ lead_events_in_scope('assigned_at', 'person_id') }}

),

opportunity_stage_changes as (

    select
        opportunities.person_id,
        history.changed_at,
        'opportunity_stage_change',
        'opportunity_stage_change',
        'salesforce',
        'opportunity_history',
        history.opportunity_history_id,
        cast(null as {{ dbt.type_string() }}),
        opportunities.owner_key,
        history.opportunity_id,
        mappings.canonical_stage,
        history.stage_name
    from {{ ref('stg_salesforce__opportunity_history') }} as history
    inner join {{ ref('int_opportunities__persons') }} as opportunities
        on history.opportunity_id = opportunities.opportunity_id
    left join {{ ref('int_lead_contract__stage_mappings') }} as mappings
        on {{ stage_mapping_matches('mappings', "'salesforce'", "'Opportunity.StageName'", 'history.stage_name') }}
    where not coalesce(history.is_deleted, false) and opportunities.person_id is not null
        and {{ lead_events_in_scope('history.changed_at', 'opportunities.person_id') }}

),

unioned as (

    select * from form_submissions
    union all select * from email_events
    union all select * from campaign_responses
    union all select * from list_rows
    union all select * from tasks
    union all select * from meetings
    union all select * from source_stage_changes
    union all select * from lifecycle_entries
    union all select * from owner_changes
    union all select * from opportunity_stage_changes

)


{#- Postgres types string expressions (and dbt.type_string()) as `text` while the
    contract creates `varchar` columns; an incremental run compares the two
    (on_schema_change), so string columns are cast to the contract's `varchar`. -#}
{%- set string_type = column_type('varchar') %}
select
    {#- One source record can enter two stages at one instant (an SQL passed through on
        the way to the opportunity): a stage entry's key includes its stage. -#}
    {#- A HubSpot task associated with contacts of two people is an event of each. -#}
    {%- set record_key = "case when event_type = 'lifecycle_stage_entered' then source_record_id || '|' || canonical_stage"
        ~ " when source_system = 'hubspot' and source_table = 'tasks' then source_record_id || '|' || unioned.person_id"
        ~ " else source_record_id end" %}
    cast({{ surrogate_key(['event_type', 'source_system', 'source_table', record_key]) }} as {{ string_type }}) as event_id,
    cast(unioned.person_id as {{ string_type }}) as person_id,
    occurred_at,
    {%- for column in ['event_category', 'event_type', 'source_system', 'source_table', 'source_record_id',
                       'campaign_key', 'owner_key', 'opportunity_id', 'canonical_stage', 'event_detail'] %}
    cast({{ column }} as {{ string_type }}) as {{ column }},
    {%- endfor %}
    cast(fingerprints.build_fingerprint as {{ string_type }}) as build_fingerprint,
    {{ built_at() }} as built_at
from unioned
inner join {{ ref('int_lead_events__person_fingerprints') }} as fingerprints on unioned.person_id = fingerprints.person_id
-- history up to the night: a row stamped after it (written while the night loads, or
-- on a re-run of an older night) waits for the night it belongs to
where unioned.occurred_at <= {{ leadbridge_now() }}
