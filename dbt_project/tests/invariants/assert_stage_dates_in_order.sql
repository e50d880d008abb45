-- Stage intervals of a person are contiguous and never negative, and within one cycle the
-- funnel stages only move forward; SLA touches and deadlines come after their hand-off.
-- A zero-length interval is a stage passed through on the way to a higher one (or to a
-- reset) at the same instant: it must be followed by such an entry.
with intervals as (

    select
        stage_interval_id,
        person_id,
        cycle_number,
        stage_kind,
        stage_order,
        valid_from,
        valid_to,
        lead(valid_from) over (partition by person_id order by valid_from, cycle_number, stage_order) as next_valid_from,
        lead(stage_order) over (partition by person_id order by valid_from, cycle_number, stage_order) as next_stage_order,
        lag(stage_order) over (partition by person_id, cycle_number order by valid_from, stage_order) as previous_order_in_cycle,
        lag(stage_kind) over (partition by person_id, cycle_number order by valid_from, stage_order) as previous_kind_in_cycle
    from {{ ref('fct_lifecycle_stages') }}

)

select stage_interval_id as failing_id, 'interval ends before it starts' as problem
from intervals
where valid_to is not null and valid_to < valid_from

union all

select stage_interval_id, 'zero-length interval not passed through to a higher stage'
from intervals
where valid_to = valid_from and (stage_kind <> 'funnel' or next_stage_order <= stage_order)

union all

select stage_interval_id, 'gap or overlap with the next interval'
from intervals
where (valid_to is null and next_valid_from is not null)
    or (valid_to is not null and (next_valid_from is null or valid_to <> next_valid_from))

union all

select stage_interval_id, 'funnel moved backwards within a cycle'
from intervals
where stage_kind = 'funnel' and previous_kind_in_cycle = 'funnel'
    and stage_order <= previous_order_in_cycle

union all

select handoff_id, 'first touch before hand-off'
from {{ ref('fct_sla') }}
where first_touch_at < handoff_at

union all

select handoff_id, 'deadline not after hand-off'
from {{ ref('fct_sla') }}
where sla_deadline_at <= handoff_at
