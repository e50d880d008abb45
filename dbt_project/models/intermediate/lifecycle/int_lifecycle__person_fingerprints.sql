-- One row per person with stage signals: the fingerprint of what their stage timeline is
-- computed from (their stage signals and the contract's stages). The timeline is a
-- function of these alone, person by person, so the incremental timeline and
-- fct_lifecycle_stages rebuild exactly the people whose fingerprint changed
-- (macros/incremental.sql). A hash per signal row and a sum per person: a scan, not
-- the timeline's window functions. Whatever touches a person's signals (a late history
-- row however old, a merge, a deleted record, a touch that happened since last night)
-- changes it; a contract change reaches it through the signals and the stages.
with stages as (

    select {{ multiset_hash(['stage_code', 'stage_order', 'stage_kind']) }} as stages_hash
    from {{ ref('lead_contract__stages') }}

)

select
    signals.person_id,
    {{ dbt.hash(dbt.concat(['stages.stages_hash', "'|'", 'signals.person_id', "'|'", multiset_hash([
        'signals.signal_at', 'signals.canonical_stage', 'signals.signal_rule', 'signals.is_conditional',
        'signals.source_system', 'signals.source_table', 'signals.source_record_id', 'signals.signal_detail'
    ])])) }} as build_fingerprint
from {{ ref('int_lifecycle__stage_signals') }} as signals
cross join stages
where signals.person_id is not null and signals.signal_at is not null
group by signals.person_id, stages.stages_hash
