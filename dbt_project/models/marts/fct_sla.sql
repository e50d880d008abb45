-- One row per MQL hand-off (a person entering MQL; a recycled person re-entering MQL is a new hand-off).
select
    handoff_id,
    person_id,
    cycle_number,
    handoff_at,
    owner_key_at_handoff,
    first_touch_at,
    first_touch_record_id,
    first_touch_type,
    first_touch_owner_key,
    sla_hours,
    sla_deadline_at,
    business_hours_to_first_touch,
    business_hours_elapsed,
    sla_status,
    evaluated_at
from {{ ref('int_sla__handoffs') }}
