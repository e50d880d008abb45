-- One row per source stage observation that the lead contract maps to a canonical stage
-- (rule: stage_mapping). Unmapped values are dropped here and fail the test
-- assert_every_source_stage_value_is_mapped, so nothing is defaulted silently.
select
    observations.person_id,
    observations.observed_at as signal_at,
    mappings.canonical_stage,
    'stage_mapping' as signal_rule,
    false as is_conditional,
    observations.source_system,
    observations.source_table,
    observations.source_record_id,
    observations.source_field || '=' || observations.source_value as signal_detail
from {{ ref('int_lifecycle__source_stage_observations') }} as observations
inner join {{ ref('int_lead_contract__stage_mappings') }} as mappings
    on {{ stage_mapping_matches('mappings', 'observations.source_system', 'observations.source_field', 'observations.source_value') }}
