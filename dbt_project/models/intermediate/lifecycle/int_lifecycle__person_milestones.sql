-- One row per person with a stage history: first entry into each canonical stage,
-- reached-or-beyond flags, stage-to-stage durations, MQL entries and recycles, and the
-- current stage. The one place funnel milestones are computed.
{%- set funnel_stages = ['subscriber', 'lead', 'mql', 'sal', 'sql', 'opportunity', 'customer'] %}
{%- set reset_stages = ['recycled', 'disqualified'] %}
{%- set durations = [('lead', 'mql'), ('mql', 'sal'), ('mql', 'sql'), ('sql', 'opportunity'), ('opportunity', 'customer'), ('lead', 'customer')] %}

with timeline as (

    select * from {{ ref('int_lifecycle__stage_timeline') }}

),

stage_orders as (

    select stage_code, stage_order from {{ ref('lead_contract__stages') }}

),

per_person as (

    select
        person_id,
        {%- for stage in funnel_stages + reset_stages %}
        min(case when canonical_stage = '{{ stage }}' then valid_from end) as first_{{ stage }}_at,
        {%- endfor %}
        max(case when stage_kind = 'funnel' then stage_order end) as max_funnel_stage_order,
        sum(case when canonical_stage = 'mql' then 1 else 0 end) as mql_entries,
        sum(case when stage_kind = 'reset' then 1 else 0 end) as reset_count,
        max(case when is_current then canonical_stage end) as current_stage,
        max(case when is_current then valid_from end) as current_stage_since,
        max(cycle_number) as current_cycle_number
    from timeline
    group by person_id

)

select
    per_person.person_id,
    {%- for stage in funnel_stages + reset_stages %}
    per_person.first_{{ stage }}_at,
    {%- endfor %}
    {%- for stage in funnel_stages %}
    coalesce(per_person.max_funnel_stage_order >= (select stage_order from stage_orders where stage_code = '{{ stage }}'), false) as is_{{ stage }}_reached,
    {%- endfor %}
    {%- for from_stage, to_stage in durations %}
    cast({{ round_number(dbt.datediff('per_person.first_' ~ from_stage ~ '_at', 'per_person.first_' ~ to_stage ~ '_at', 'minute') ~ ' / 1440.0', 2) }} as numeric(18, 2)) as days_{{ from_stage }}_to_{{ to_stage }},
    {%- endfor %}
    cast(per_person.mql_entries as {{ dbt.type_int() }}) as mql_entries,
    cast(per_person.reset_count as {{ dbt.type_int() }}) as reset_count,
    per_person.current_stage,
    per_person.current_stage_since,
    cast(per_person.current_cycle_number as {{ dbt.type_int() }}) as current_cycle_number
from per_person
