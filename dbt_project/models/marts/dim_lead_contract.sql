-- One row per lead-contract item version (stage, stage mapping, rule, holiday, target or attribution model), with whether it is in force now.
with rules as (

    select * from {{ ref('int_lead_contract__rules') }}

),

items as (

    select
        'stage' as item_kind,
        stage_code as item_key,
        cast(stage_order as {{ dbt.type_string() }}) || ' ' || stage_kind as item_value,
        meaning as description,
        cast(null as {{ dbt.type_timestamp() }}) as valid_from,
        cast(null as {{ dbt.type_timestamp() }}) as valid_to,
        true as is_in_force
    from {{ ref('lead_contract__stages') }}

    union all

    select
        'stage_mapping',
        source_system || '.' || source_field || '=' || source_value,
        canonical_stage,
        note,
        cast(null as {{ dbt.type_timestamp() }}),
        cast(null as {{ dbt.type_timestamp() }}),
        true
    from {{ ref('lead_contract__stage_mappings') }}

    union all

    select
        'rule',
        rule_key,
        rule_value || ' ' || unit,
        description,
        valid_from,
        case when valid_to < cast('9999-01-01' as {{ dbt.type_timestamp() }}) then valid_to end,
        is_current
    from rules

    union all

    select
        'holiday',
        cast(holiday_date as {{ dbt.type_string() }}),
        holiday_name,
        'No business hours on this local day.',
        cast(null as {{ dbt.type_timestamp() }}),
        cast(null as {{ dbt.type_timestamp() }}),
        true
    from {{ ref('lead_contract__holidays') }}

    union all

    select
        'target',
        cast(month_start as {{ dbt.type_string() }}) || ' ' || kpi,
        {{ float_to_string('target_value') }},
        'Monthly target for ' || kpi,
        cast(month_start as {{ dbt.type_timestamp() }}),
        cast({{ dbt.dateadd('month', 1, 'month_start') }} as {{ dbt.type_timestamp() }}),
        cast(month_start as {{ dbt.type_timestamp() }}) <= {{ leadbridge_now() }}
            and {{ leadbridge_now() }} < cast({{ dbt.dateadd('month', 1, 'month_start') }} as {{ dbt.type_timestamp() }})
    from {{ ref('lead_contract__targets') }}

    union all

    select
        'attribution_model',
        attribution_model,
        attribution_model,
        description,
        cast(null as {{ dbt.type_timestamp() }}),
        cast(null as {{ dbt.type_timestamp() }}),
        true
    from {{ ref('lead_contract__attribution_models') }}

)

select
    {{ surrogate_key(['item_kind', 'item_key', 'valid_from']) }} as contract_item_id,
    item_kind,
    item_key,
    item_value,
    description,
    valid_from,
    valid_to,
    is_in_force
from items
