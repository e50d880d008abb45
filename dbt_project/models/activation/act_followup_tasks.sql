-- One row per follow-up task that should exist now: a hand-off in mart_handoff_queue (the
-- latest MQL hand-off of a person still in MQL, untouched) that has used
-- `followup_sla_share` of its SLA hours or is breached. The task goes to Salesforce when
-- the person has a lead or contact there, else to HubSpot. Its key changes with the
-- lead-contract rules in force at the hand-off, so a retroactive rule change closes the
-- old task and creates a new one.
{%- set share = var('followup_sla_share') %}
-- Which hand-offs wait is the queue's rule, read rather than restated; fct_sla adds the
-- SLA hours the share is taken of.
with handoff_queue as (

    select * from {{ ref('mart_handoff_queue') }}

),

due as (

    select
        sla.*,
        handoff_queue.recent_history
    from handoff_queue
    inner join {{ ref('fct_sla') }} as sla on handoff_queue.handoff_id = sla.handoff_id
    where sla.sla_status = 'breached'
        or sla.business_hours_elapsed >= cast({{ share }} as {{ dbt.type_numeric() }}) * sla.sla_hours

),

persons as (

    select * from {{ ref('dim_person') }}
    where person_id not in (select person_id from {{ ref('act_erased_persons') }})

),

rule_versions as (

    select * from {{ ref('int_lead_contract__rules') }}

),

-- The rules in force at the hand-off, as one digest: the lead-contract version it is
-- judged under (sla_business_hours, calendar, MQL threshold, …). A hand-off before the
-- contract's first version has none in force: it is `unversioned` rather than dropped,
-- and a version later dated back to cover it changes its key like any retroactive change.
contract_versions as (

    select
        due.handoff_id,
        coalesce(
            {{ dbt.hash(dbt.listagg(
                "rule_versions.rule_key || '@' || cast(rule_versions.valid_from as " ~ dbt.type_string() ~ ") || '=' || rule_versions.rule_value",
                "'|'",
                "order by rule_versions.rule_key")) }},
            'unversioned'
        ) as contract_version
    from due
    left join rule_versions
        on rule_versions.valid_from <= due.handoff_at and due.handoff_at < rule_versions.valid_to
    group by due.handoff_id

),

owners as (

    select * from {{ ref('dim_owner') }}

),

-- Whether the owner's user in each system is active now (dim_owner's flag is across
-- systems): a rep who left must not get a task.
owner_activity as (

    select
        owner_key,
        {{ dbt.bool_or("case when source_system = 'salesforce' then is_active end") }} as salesforce_active,
        {{ dbt.bool_or("case when source_system = 'hubspot' then is_active end") }} as hubspot_active
    from {{ ref('int_owners__unified') }}
    group by owner_key

),

contacts as (

    select * from {{ ref('person_contacts') }}

),

-- Why the person is an MQL: the rule and signal that entered the stage (a hand-off is
-- the MQL stage interval it starts).
mql_entries as (

    select stage_interval_id, entered_by_rule, signal_detail
    from {{ ref('fct_lifecycle_stages') }}

),

campaigns as (

    select * from {{ ref('dim_campaign') }}

),

settings as (

    select {{ contract_rule('calendar_timezone') }} as timezone_name

),

targeted as (

    select
        due.handoff_id,
        due.person_id,
        due.sla_status,
        due.sla_deadline_at,
        due.owner_key_at_handoff,
        case
            when persons.salesforce_contact_id is not null or persons.salesforce_lead_id is not null
                then 'salesforce'
            else 'hubspot'
        end as target_system,
        persons.salesforce_contact_id,
        persons.salesforce_lead_id,
        persons.hubspot_contact_id,
        persons.first_touch_campaign_key,
        owners.salesforce_user_id,
        owners.hubspot_owner_id,
        coalesce(owners.is_queue, false) as owner_is_queue,
        owner_activity.salesforce_active,
        owner_activity.hubspot_active,
        due.recent_history,
        contract_versions.contract_version
    from due
    inner join persons on due.person_id = persons.person_id
    inner join contract_versions on due.handoff_id = contract_versions.handoff_id
    left join owners on due.owner_key_at_handoff = owners.owner_key
    left join owner_activity on due.owner_key_at_handoff = owner_activity.owner_key

)

select
    {{ surrogate_key(['targeted.handoff_id', "'followup_task'", 'targeted.contract_version']) }} as activation_key,
    targeted.person_id,
    targeted.handoff_id,
    targeted.target_system,
    case when targeted.target_system = 'salesforce' then 'Task' else 'tasks' end as target_object,
    case
        when targeted.target_system = 'salesforce'
            then coalesce(targeted.salesforce_contact_id, targeted.salesforce_lead_id)
        else targeted.hubspot_contact_id
    end as who_record_id,
    case
        when targeted.target_system = 'hubspot' then 'hubspot_contact'
        when targeted.salesforce_contact_id is not null then 'salesforce_contact'
        else 'salesforce_lead'
    end as who_record_type,
    targeted.owner_key_at_handoff as owner_key,
    -- a Salesforce queue (00G…) cannot own a Task: the planner gives it the fallback owner
    case
        when targeted.target_system = 'hubspot' then targeted.hubspot_owner_id
        when targeted.owner_is_queue then null
        else targeted.salesforce_user_id
    end as owner_record_id,
    targeted.target_system = 'salesforce' and targeted.owner_is_queue as owner_is_queue,
    -- null when the owner has no user in the target system (owner_record_id is null then)
    case
        when targeted.target_system = 'hubspot' then targeted.hubspot_active
        when targeted.owner_is_queue then true
        else targeted.salesforce_active
    end as owner_is_active,
    'Follow up MQL: ' || coalesce(nullif(trim(contacts.full_name), ''), contacts.company_name, 'unnamed contact') as subject,
    cast({{ utc_to_local('targeted.sla_deadline_at', 'settings.timezone_name') }} as date) as due_date,
    targeted.sla_deadline_at as due_at,
    targeted.sla_status,
    'MQL by ' || coalesce(mql_entries.entered_by_rule, 'unknown rule')
        || coalesce(' (' || mql_entries.signal_detail || ')', '')
        || coalesce('; first campaign: ' || campaigns.campaign_name, '')
        || coalesce('; recent: ' || nullif(targeted.recent_history, ''), '') as description,
    targeted.contract_version
from targeted
cross join settings
left join contacts on targeted.person_id = contacts.person_id
left join mql_entries on targeted.handoff_id = mql_entries.stage_interval_id
left join campaigns on targeted.first_touch_campaign_key = campaigns.campaign_key
