-- fct_funnel and fct_sla agree with the lifecycle stage entries in fct_lead_events:
-- per stage, the people with a first entry equal the people with an entry event, the
-- MQL entries equal the MQL entry events, and every MQL entry event is one SLA hand-off.
{%- set stages = ['subscriber', 'lead', 'mql', 'sal', 'sql', 'opportunity', 'customer', 'recycled', 'disqualified'] %}
with entries as (

    select * from {{ ref('fct_lead_events') }}
    where event_type = 'lifecycle_stage_entered'

),

funnel as (

    select * from {{ ref('fct_funnel') }}

),

checks as (

    {%- for stage in stages %}
    select
        '{{ stage }} people' as check_name,
        (select count(*) from funnel where first_{{ stage }}_at is not null) as from_marts,
        (select count(distinct person_id) from entries where canonical_stage = '{{ stage }}') as from_events
    union all
    {%- endfor %}
    select
        'mql entries',
        (select coalesce(sum(mql_entries), 0) from funnel),
        (select count(*) from entries where canonical_stage = 'mql')
    union all
    select
        'sla hand-offs',
        (select count(*) from {{ ref('fct_sla') }}),
        (select count(*) from entries where canonical_stage = 'mql')

)

select * from checks where from_marts <> from_events
