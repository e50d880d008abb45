-- One row: a fingerprint of everything that restates everyone's old history in
-- fct_lead_events (the lead contract, the campaign and owner keys events carry, and the
-- version of what a row holds). It is part of every person's fingerprint
-- (int_lead_events__person_fingerprints): when it changes, fct_lead_events' next
-- incremental run drops its rows and rebuilds them all (see its pre-hook). The identity
-- map is not here: a new lead or a merge restates only the people it touches.
with contract_rows as (

    select 'rule|' || rule_key || '|' || cast(effective_from as {{ dbt.type_string() }}) || '|' || rule_value as item
    from {{ ref('lead_contract__rules') }}
    union all
    select 'map|' || source_system || '|' || source_field || '|' || source_value || '|' || canonical_stage
    from {{ ref('lead_contract__stage_mappings') }}
    union all
    select 'stage|' || stage_code || '|' || cast(stage_order as {{ dbt.type_string() }}) || '|' || stage_kind
    from {{ ref('lead_contract__stages') }}
    union all
    select 'holiday|' || cast(holiday_date as {{ dbt.type_string() }})
    from {{ ref('lead_contract__holidays') }}

),

key_rows as (

    select 'campaign|' || source_system || '|' || source_campaign_id || '|' || campaign_key as item
    from {{ ref('int_campaigns__unified') }}
    union all
    select 'owner|' || source_system || '|' || source_owner_id || '|' || owner_key
    from {{ ref('int_owners__unified') }}

),

-- What a stored row holds: a new version restates old history too. v2: sales-activity
-- subjects (free text, PII) left event_detail, and must leave the stored rows as well.
-- v3: build_fingerprint became per person. v4: stage entries passed through at one
-- instant are rows of their own, keyed by their stage. v5: HubSpot tasks are sales
-- activities too.
row_definition as (

    select 'rows|v5' as item

)

select
    {{ dbt.hash(dbt.listagg('item', "','", 'order by item')) }} as build_fingerprint
from (
    select item from contract_rows
    union all
    select item from key_rows
    union all
    select item from row_definition
) as items
