-- One row per person per canonical stage interval [valid_from, valid_to), computed from
-- the stage signals under the lead contract's progression rules:
-- * within a cycle the stage only moves forward (the highest funnel stage signalled so far);
-- * a reset stage (recycled, disqualified) ends the cycle; the next signal starts a new
--   one, so a recycled lead re-enters MQL (and gets a new SLA hand-off);
-- * conditional signals (a sales touch → SAL) count only when the person is already at
--   MQL or beyond in the current cycle.
-- Signals at the same instant are applied together, funnel signals first, then resets.
-- Every stage they enter is an interval: a lead conversion that signals SQL and the
-- opportunity at one instant enters SQL and then the opportunity, so the SQL interval is
-- zero-length (valid_to = valid_from). Intervals are keyed by person, instant and stage.
{#- Incremental on the people touched: a person's intervals depend on their own signals
    only (every window below is partitioned by person), so a run recomputes the people
    whose fingerprint changed (int_lifecycle__person_fingerprints) and keeps the others'
    rows; the same rows as --full-refresh. Nothing here depends on the night itself:
    time reaches the timeline through its signals (a touch counts once it happened). -#}
{{ config(
    materialized=incremental_or_table(),
    unique_key='stage_interval_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook=["{{ delete_rows_of_changed_people(ref('int_lifecycle__person_fingerprints')) }}"]
) }}

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
    {%- if is_incremental() %}
        and signals.person_id in ({{ rebuilt_people(ref('int_lifecycle__person_fingerprints')) }})
    {%- endif %}

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
        row_number() over (
            partition by person_id, signal_at
            order by is_reset desc, conditional_sort desc, stage_order desc, source_record_id desc, signal_rule desc
        ) as last_at_instant
    from kept

),

instant_levels as (

    -- the highest funnel stage signalled at each instant of a cycle
    select
        person_id,
        cycle_number,
        signal_at,
        max(case when stage_kind = 'funnel' then stage_order end) as instant_stage_order
    from effective
    group by person_id, cycle_number, signal_at

),

levels as (

    select
        instant_levels.*,
        max(instant_stage_order) over (
            partition by person_id, cycle_number
            order by signal_at
            rows between unbounded preceding and 1 preceding
        ) as stage_order_before
    from instant_levels

),

entries as (

    -- Every stage entered: each funnel stage signalled above the stage its cycle had
    -- reached before the instant (signals of one instant pass through the lower stages
    -- to the highest), and the last reset of an instant.
    select distinct
        effective.person_id,
        effective.signal_at,
        effective.cycle_number,
        effective.canonical_stage,
        effective.stage_order
    from effective
    inner join levels
        on effective.person_id = levels.person_id
        and effective.cycle_number = levels.cycle_number
        and effective.signal_at = levels.signal_at
    where (effective.stage_kind = 'funnel' and effective.stage_order > coalesce(levels.stage_order_before, 0))
        or (effective.is_reset = 1 and effective.last_at_instant = 1)

),

triggers as (

    -- the signal that entered the stage (first by rule and record at that instant)
    select
        entries.person_id,
        entries.signal_at,
        entries.canonical_stage,
        effective.signal_rule,
        effective.source_system,
        effective.source_table,
        effective.source_record_id,
        effective.signal_detail,
        row_number() over (
            partition by entries.person_id, entries.signal_at, entries.canonical_stage
            order by effective.conditional_sort, effective.signal_rule, effective.source_system, effective.source_record_id
        ) as trigger_rank
    from entries
    inner join effective
        on entries.person_id = effective.person_id
        and entries.signal_at = effective.signal_at
        and entries.canonical_stage = effective.canonical_stage

),

intervals as (

    -- entries of one instant in funnel order, the reset last (it opens the next cycle):
    -- all but the last are zero-length passes
    select
        entries.person_id,
        entries.canonical_stage as stage_code,
        entries.cycle_number,
        entries.signal_at as valid_from,
        lead(entries.signal_at) over (
            partition by entries.person_id
            order by entries.signal_at, entries.cycle_number, entries.stage_order
        ) as valid_to
    from entries

)

select
    {{ surrogate_key(['intervals.person_id', 'intervals.valid_from', 'intervals.stage_code']) }} as stage_interval_id,
    intervals.person_id,
    intervals.stage_code as canonical_stage,
    stages.stage_order,
    stages.stage_kind,
    cast(intervals.cycle_number as {{ dbt.type_int() }}) as cycle_number,
    intervals.valid_from,
    intervals.valid_to,
    intervals.valid_to is null as is_current,
    cast(row_number() over (
        partition by intervals.person_id, intervals.stage_code order by intervals.valid_from, intervals.cycle_number
    ) as {{ dbt.type_int() }}) as stage_entry_number,
    triggers.signal_rule as entered_by_rule,
    triggers.source_system,
    triggers.source_table,
    triggers.source_record_id,
    triggers.signal_detail,
    fingerprints.build_fingerprint,
    {{ built_at() }} as built_at
from intervals
inner join stages on intervals.stage_code = stages.stage_code
inner join {{ ref('int_lifecycle__person_fingerprints') }} as fingerprints
    on intervals.person_id = fingerprints.person_id
left join triggers
    on intervals.person_id = triggers.person_id
    and intervals.valid_from = triggers.signal_at
    and intervals.stage_code = triggers.canonical_stage
    and triggers.trigger_rank = 1
