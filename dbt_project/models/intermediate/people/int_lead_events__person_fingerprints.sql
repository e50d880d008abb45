-- One row per person: the fingerprint their rows in fct_lead_events are built under.
-- It combines what restates everyone's history (int_lead_events__build_fingerprint) with
-- what restates this person's alone:
-- - the records, emails and opportunities linked to them: events reach a person only
--   through these (a new lead, a merge, a re-linked email);
-- - the history derived from their records' state (source stage observations, lifecycle
--   stages, owner assignments): a late history row restates the state a record was
--   created in, however old (a lead status change loaded a day late rewrites the lead's
--   first status).
-- - their scheduled activities: when a meeting starts or a task is completed after the
--   look-back window of the night it was due (a missed night), the person is rebuilt.
-- fct_lead_events' incremental run rebuilds the whole history of the people whose
-- fingerprint changed, and only theirs (see its pre-hook). Event rows that stand alone
-- (emails, forms, tasks, meetings, opportunity history) are replaced within the
-- look-back window only.
with items as (

    select person_id, {{ key_text(["'record'", 'node_key']) }} as item
    from {{ ref('int_identity__record_persons') }}
    union all
    select person_id, {{ key_text(["'email'", 'email_normalized']) }}
    from {{ ref('int_identity__person_emails') }}
    union all
    -- an opportunity's owner is on each of its stage-change events
    select person_id, {{ key_text(["'opportunity'", 'opportunity_id', 'owner_key']) }}
    from {{ ref('int_opportunities__persons') }}
    where person_id is not null
    union all
    select person_id, {{ key_text(["'observation'", 'source_system', 'source_table', 'source_record_id',
                                   'source_field', 'source_value', 'observed_at']) }}
    from {{ ref('int_lifecycle__source_stage_observations') }}
    where person_id is not null
    union all
    select person_id, {{ key_text(["'stage'", 'valid_from', 'canonical_stage', 'entered_by_rule', 'source_system',
                                   'source_table', 'source_record_id', 'signal_detail']) }}
    from {{ ref('int_lifecycle__stage_timeline') }}
    union all
    select person_id, {{ key_text(["'owner'", 'source_system', 'source_table', 'source_record_id', 'assigned_at',
                                   'source_owner_id', 'owner_key']) }}
    from {{ ref('int_people__owner_assignments') }}
    union all
    select person_id, {{ key_text(["'scheduled'", 'source_table', 'source_record_id']) }}
    from {{ ref('int_sales__scheduled_touches') }}

)

select
    items.person_id,
    {{ dbt.hash(dbt.concat(['global.build_fingerprint', "'|'", multiset_hash(['items.item'])])) }} as build_fingerprint
from items
cross join {{ ref('int_lead_events__build_fingerprint') }} as global
group by items.person_id, global.build_fingerprint
