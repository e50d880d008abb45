-- One row per MQL hand-off (each entry into the MQL stage, so a recycled lead that
-- re-enters MQL is handed off again): the owner at hand-off, the first sales touch
-- before the next hand-off, business hours elapsed under the lead contract's calendar,
-- the SLA deadline and the outcome (met / breached / open). The one place SLA is computed.
with handoffs as (

    select
        stage_interval_id as handoff_id,
        person_id,
        valid_from as handoff_at,
        cycle_number,
        lead(valid_from) over (partition by person_id order by valid_from) as next_handoff_at
    from {{ ref('int_lifecycle__stage_timeline') }}
    where canonical_stage = 'mql'

),

touches as (

    select * from {{ ref('int_sales__touches') }}

),

first_touches as (

    select
        handoffs.handoff_id,
        touches.touched_at,
        touches.source_record_id,
        touches.touch_type,
        touches.owner_key,
        row_number() over (
            partition by handoffs.handoff_id
            order by touches.touched_at, touches.source_record_id
        ) as touch_rank
    from handoffs
    inner join touches
        on handoffs.person_id = touches.person_id
        and touches.touched_at >= handoffs.handoff_at
        and (handoffs.next_handoff_at is null or touches.touched_at < handoffs.next_handoff_at)

),

owner_candidates as (

    select
        handoffs.handoff_id,
        assignments.owner_key,
        row_number() over (
            partition by handoffs.handoff_id
            order by
                case when assignments.assigned_at <= handoffs.handoff_at then 0 else 1 end asc,
                case when assignments.assigned_at <= handoffs.handoff_at then assignments.assigned_at end desc,
                assignments.assigned_at asc,
                assignments.source_record_id asc
        ) as owner_rank
    from handoffs
    inner join {{ ref('int_people__owner_assignments') }} as assignments
        on handoffs.person_id = assignments.person_id
        and assignments.owner_key is not null

),

rules as (

    select * from {{ ref('int_lead_contract__rules') }}

),

settings as (

    select {{ contract_rule('calendar_timezone') }} as timezone_name

),

timed as (

    select
        handoffs.*,
        cast({{ dbt.safe_cast('sla_rule.rule_value', dbt.type_numeric()) }} as {{ dbt.type_numeric() }}) as sla_hours,
        first_touches.touched_at as first_touch_at,
        first_touches.source_record_id as first_touch_record_id,
        first_touches.touch_type as first_touch_type,
        first_touches.owner_key as first_touch_owner_key,
        owner_candidates.owner_key as owner_key_at_handoff,
        {{ leadbridge_now() }} as evaluated_at,
        {{ utc_to_local('handoffs.handoff_at', 'settings.timezone_name') }} as handoff_local,
        {{ utc_to_local('coalesce(first_touches.touched_at, ' ~ leadbridge_now() ~ ')', 'settings.timezone_name') }} as end_local,
        settings.timezone_name
    from handoffs
    cross join settings
    left join rules as sla_rule
        on {{ contract_rule_in_force('sla_rule', 'sla_business_hours', 'handoffs.handoff_at') }}
    left join first_touches
        on handoffs.handoff_id = first_touches.handoff_id and first_touches.touch_rank = 1
    left join owner_candidates
        on handoffs.handoff_id = owner_candidates.handoff_id and owner_candidates.owner_rank = 1

),

calendar as (

    select * from {{ ref('int_calendar__business_hours') }}

),

positioned as (

    select
        timed.*,
        {{ business_hours_position('start_hour', 'timed.handoff_local') }} as start_position,
        {{ business_hours_position('end_hour', 'timed.end_local') }} as end_position
    from timed
    left join calendar as start_hour
        on start_hour.hour_start_local = {{ dbt.date_trunc('hour', 'timed.handoff_local') }}
    left join calendar as end_hour
        on end_hour.hour_start_local = {{ dbt.date_trunc('hour', 'timed.end_local') }}

),

with_deadline as (

    select
        positioned.*,
        {{ local_to_utc(
            dbt.dateadd(
                'second',
                'cast(' ~ round_number('(positioned.start_position + positioned.sla_hours - deadline_hour.business_hours_before) * 3600') ~ ' as ' ~ dbt.type_int() ~ ')',
                'deadline_hour.hour_start_local'
            ),
            'positioned.timezone_name'
        ) }} as sla_deadline_at
    from positioned
    left join calendar as deadline_hour
        on deadline_hour.is_business_hour
        and deadline_hour.business_hours_before
            = cast(ceil(positioned.start_position + positioned.sla_hours) as {{ dbt.type_int() }}) - 1

)

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
    cast(sla_hours as numeric(18, 2)) as sla_hours,
    sla_deadline_at,
    cast(case when first_touch_at is not null
        then {{ round_number('end_position - start_position', 2) }} end as numeric(18, 2)) as business_hours_to_first_touch,
    cast({{ round_number('end_position - start_position', 2) }} as numeric(18, 2)) as business_hours_elapsed,
    case
        when first_touch_at is not null and end_position - start_position <= sla_hours then 'met'
        when first_touch_at is not null then 'breached'
        when evaluated_at >= sla_deadline_at then 'breached'
        else 'open'
    end as sla_status,
    evaluated_at
from with_deadline
