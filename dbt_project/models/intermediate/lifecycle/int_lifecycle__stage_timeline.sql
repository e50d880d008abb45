-- One row per person per canonical stage interval [valid_from, valid_to), computed from
-- the stage signals under the lead contract's progression rules:
-- * within a cycle the stage only moves forward (the highest funnel stage signalled so far);
-- * a reset stage (recycled, disqualified) ends the cycle; the next signal starts a new
--   one, so a recycled lead re-enters MQL (and gets a new SLA hand-off);
-- * conditional signals (a sales touch → SAL) count only when the person is already at
--   MQL or beyond in the current cycle.
-- Signals at the same instant are applied together: funnel signals first, then resets.
with stages as (

    select * from {{ ref('lead_contract__stages') }}

),

mql_stage as (

    select stage_order from stages where stage_code = 'mql'

),

signals as (

    select
        signals.*,
        stages.stage_order,
        stages.stage_kind,
        case when stages.stage_kind = 'reset' then 1 else 0 end as is_reset,
        case when signals.is_conditional then 1 else 0 end as conditional_sort
    from {{ ref('int_lifecycle__stage_signals') }} as signals
    inner join stages on signals.canonical_stage = stages.stage_code
    where signals.person_id is not null and signals.signal_at is not null

),

cycled as (

    select
        signals.*,
        sum(is_reset) over (
            partition by person_id
            order by signal_at, is_reset, conditional_sort, stage_order, source_record_id, signal_rule
            rows between unbounded preceding and current row
        ) as cycle_number
    from signals

),

with_prior as (

    select
        cycled.*,
        max(case when not is_conditional and stage_kind = 'funnel' then stage_order end) over (
            partition by person_id, cycle_number
            order by signal_at, is_reset, conditional_sort, stage_order, source_record_id, signal_rule
            rows between unbounded preceding and current row
        ) as unconditional_stage_order
    from cycled

),

kept as (

    select with_prior.*
    from with_prior
    cross join mql_stage
    where not with_prior.is_conditional
        or with_prior.unconditional_stage_order >= mql_stage.stage_order

),

effective as (

    select
        kept.*,
        max(case when stage_kind = 'funnel' then stage_order end) over (
            partition by person_id, cycle_number
            order by signal_at, is_reset, conditional_sort, stage_order, source_record_id, signal_rule
            rows between unbounded preceding and current row
        ) as funnel_stage_order,
        row_number() over (
            partition by person_id, signal_at
            order by is_reset desc, conditional_sort desc, stage_order desc, source_record_id desc, signal_rule desc
        ) as last_at_instant
    from kept

),

states as (

    -- the state after all signals of one instant
    select
        effective.person_id,
        effective.signal_at,
        effective.cycle_number,
        case when effective.is_reset = 1 then effective.canonical_stage else funnel_stage.stage_code end as stage_code
    from effective
    left join stages as funnel_stage on effective.funnel_stage_order = funnel_stage.stage_order
    where effective.last_at_instant = 1

),

triggers as (

    -- the signal that set the state's stage (first by rule and record at that instant)
    select
        states.person_id,
        states.signal_at,
        effective.signal_rule,
        effective.source_system,
        effective.source_table,
        effective.source_record_id,
        effective.signal_detail,
        row_number() over (
            partition by states.person_id, states.signal_at
            order by effective.conditional_sort, effective.signal_rule, effective.source_system, effective.source_record_id
        ) as trigger_rank
    from states
    inner join effective
        on states.person_id = effective.person_id
        and states.signal_at = effective.signal_at
        and states.stage_code = effective.canonical_stage

),

changes as (

    select
        states.*,
        lag(states.stage_code) over (partition by states.person_id order by states.signal_at) as previous_stage_code,
        lag(states.cycle_number) over (partition by states.person_id order by states.signal_at) as previous_cycle_number
    from states

),

intervals as (

    select
        changes.person_id,
        changes.stage_code,
        changes.cycle_number,
        changes.signal_at as valid_from,
        lead(changes.signal_at) over (partition by changes.person_id order by changes.signal_at) as valid_to
    from changes
    where changes.previous_stage_code is null
        or changes.previous_stage_code <> changes.stage_code
        or changes.previous_cycle_number <> changes.cycle_number

)

select
    {{ surrogate_key(['intervals.person_id', 'intervals.valid_from']) }} as stage_interval_id,
    intervals.person_id,
    intervals.stage_code as canonical_stage,
    stages.stage_order,
    stages.stage_kind,
    cast(intervals.cycle_number as {{ dbt.type_int() }}) as cycle_number,
    intervals.valid_from,
    intervals.valid_to,
    intervals.valid_to is null as is_current,
    cast(row_number() over (
        partition by intervals.person_id, intervals.stage_code order by intervals.valid_from
    ) as {{ dbt.type_int() }}) as stage_entry_number,
    triggers.signal_rule as entered_by_rule,
    triggers.source_system,
    triggers.source_table,
    triggers.source_record_id,
    triggers.signal_detail
from intervals
inner join stages on intervals.stage_code = stages.stage_code
left join triggers
    on intervals.person_id = triggers.person_id
    and intervals.valid_from = triggers.signal_at
    and triggers.trigger_rank = 1
