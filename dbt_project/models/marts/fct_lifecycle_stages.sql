-- One row per person per lifecycle stage interval (valid_from to valid_to).
select
    stage_interval_id,
    person_id,
    canonical_stage,
    stage_order,
    stage_kind,
    cycle_number,
    stage_entry_number,
    valid_from,
    valid_to,
    is_current,
    cast({{ round_number(dbt.datediff('valid_from', 'coalesce(valid_to, ' ~ leadbridge_now() ~ ')', 'minute') ~ ' / 60.0', 2) }} as numeric(18, 2)) as hours_in_stage,
    entered_by_rule,
    source_system,
    source_table,
    source_record_id,
    signal_detail
from {{ ref('int_lifecycle__stage_timeline') }}
