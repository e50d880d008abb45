-- One row per person with a stage history: when the person first entered each canonical
-- stage (`first_<stage>_at`; a stage passed through at the same instant as a higher one
-- counts), when they first reached it or a later funnel stage (`reached_<stage>_at`: a
-- skipped stage is reached by the later one), stage-to-stage durations, MQL entries and
-- recycles, and the current stage. The one place funnel milestones and conversions are
-- computed; fct_funnel and mart_kpis_daily read them.
{%- set funnel_stages = ['subscriber', 'lead', 'mql', 'sal', 'sql', 'opportunity', 'customer'] %}
{%- set reset_stages = ['recycled', 'disqualified'] %}
{#- A conversion from A to B: the person entered A and reached B (or a later funnel stage)
    at or after that first entry; its duration runs from the entry to that moment. -#}
{%- set conversions = [('lead', 'mql'), ('mql', 'sal'), ('mql', 'sql'), ('sql', 'opportunity'), ('opportunity', 'customer')] %}
{%- set durations = [('lead', 'mql'), ('mql', 'sal'), ('mql', 'sql'), ('sql', 'opportunity'), ('opportunity', 'customer'), ('lead', 'customer')] %}
{%- set from_stages = (conversions + durations) | map(attribute=0) | unique | list %}
{%- set pairs = (conversions + durations) | unique | list %}

with timeline as (

    select
        timeline.*,
        {%- for stage in from_stages %}
        min(case when canonical_stage = '{{ stage }}' then valid_from end) over (partition by person_id) as first_{{ stage }}_entry{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('int_lifecycle__stage_timeline') }} as timeline

),

stage_orders as (

    select
        {%- for stage in funnel_stages %}
        max(case when stage_code = '{{ stage }}' then stage_order end) as {{ stage }}_order{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('lead_contract__stages') }}

),

per_person as (

    select
        person_id,
        {%- for stage in funnel_stages + reset_stages %}
        min(case when canonical_stage = '{{ stage }}' then valid_from end) as first_{{ stage }}_at,
        {%- endfor %}
        {%- for stage in funnel_stages %}
        min(case when stage_kind = 'funnel' and timeline.stage_order >= stage_orders.{{ stage }}_order then valid_from end) as reached_{{ stage }}_at,
        {%- endfor %}
        {%- for from_stage, to_stage in pairs %}
        min(case when stage_kind = 'funnel' and timeline.stage_order >= stage_orders.{{ to_stage }}_order
            and valid_from >= first_{{ from_stage }}_entry then valid_from end) as {{ to_stage }}_after_{{ from_stage }}_at,
        {%- endfor %}
        sum(case when canonical_stage = 'mql' then 1 else 0 end) as mql_entries,
        sum(case when stage_kind = 'reset' then 1 else 0 end) as reset_count,
        max(case when is_current then canonical_stage end) as current_stage,
        max(case when is_current then valid_from end) as current_stage_since,
        max(cycle_number) as current_cycle_number
    from timeline
    cross join stage_orders
    group by person_id

)

select
    per_person.person_id,
    {%- for stage in funnel_stages + reset_stages %}
    per_person.first_{{ stage }}_at,
    {%- endfor %}
    {%- for stage in funnel_stages %}
    per_person.reached_{{ stage }}_at,
    {%- endfor %}
    {%- for stage in funnel_stages %}
    per_person.reached_{{ stage }}_at is not null as is_{{ stage }}_reached,
    {%- endfor %}
    {%- for from_stage, to_stage in conversions %}
    per_person.{{ to_stage }}_after_{{ from_stage }}_at is not null as converted_{{ from_stage }}_to_{{ to_stage }},
    {%- endfor %}
    {%- for from_stage, to_stage in durations %}
    cast({{ round_quotient(dbt.datediff('per_person.first_' ~ from_stage ~ '_at', 'per_person.' ~ to_stage ~ '_after_' ~ from_stage ~ '_at', 'minute'), 1440, 2) }} as numeric(18, 2)) as days_{{ from_stage }}_to_{{ to_stage }},
    {%- endfor %}
    cast(per_person.mql_entries as {{ dbt.type_int() }}) as mql_entries,
    cast(per_person.reset_count as {{ dbt.type_int() }}) as reset_count,
    per_person.current_stage,
    per_person.current_stage_since,
    cast(per_person.current_cycle_number as {{ dbt.type_int() }}) as current_cycle_number
from per_person
