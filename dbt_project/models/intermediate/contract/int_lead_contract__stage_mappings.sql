-- One row per mapped source value, with its canonical stage's order and kind.
select
    mappings.source_system,
    mappings.source_field,
    mappings.source_value,
    lower(trim(mappings.source_value)) as source_value_key,
    mappings.canonical_stage,
    stages.stage_order,
    stages.stage_kind
from {{ ref('lead_contract__stage_mappings') }} as mappings
inner join {{ ref('lead_contract__stages') }} as stages
    on mappings.canonical_stage = stages.stage_code
