-- One row per month of mart_kpis_daily: its MQLs against the month before and the lead velocity rate, given only for a complete month whose month before was counted under the MQL rules in force now.
{#- The marts do not recount history under the current contract (the score threshold is
    judged with the version in force at the score change), so two months compare only
    when both lie within the validity of the mql_* rules in force now. A month-to-date
    rate moves with the weekday mix and the night's partial day: only complete months. #}
with months as (

    select kpi_month, sum(mqls) as mqls
    from {{ ref('mart_kpis_daily') }}
    group by kpi_month

),

mql_rules as (

    select
        max(valid_from) as mql_rules_since,
        {{ dbt.listagg('item_key', "', '", 'order by item_key') }} as mql_rules
    from {{ ref('dim_lead_contract') }}
    where item_kind = 'rule' and substr(item_key, 1, 4) = 'mql_' and is_in_force

),

compared as (

    select
        months.kpi_month,
        months.mqls,
        previous.mqls as previous_month_mqls,
        cast({{ dbt.dateadd('month', 1, 'months.kpi_month') }} as date) <= cast({{ leadbridge_now() }} as date) as is_complete_month,
        mql_rules.mql_rules_since,
        mql_rules.mql_rules,
        coalesce(mql_rules.mql_rules_since <= cast({{ dbt.dateadd('month', -1, 'months.kpi_month') }} as {{ dbt.type_timestamp() }}), false) as is_under_mql_rules_in_force
    from months
    left join months as previous
        on previous.kpi_month = cast({{ dbt.dateadd('month', -1, 'months.kpi_month') }} as date)
    cross join mql_rules

)

select
    kpi_month,
    cast(mqls as {{ dbt.type_int() }}) as mqls,
    cast(previous_month_mqls as {{ dbt.type_int() }}) as previous_month_mqls,
    is_complete_month,
    is_under_mql_rules_in_force,
    mql_rules_since,
    cast(mql_rules as {{ dbt.type_string() }}) as mql_rules,
    cast(case
        when is_complete_month and is_under_mql_rules_in_force and previous_month_mqls > 0
            then {{ round_number('1.0 * (mqls - previous_month_mqls) / previous_month_mqls', 6) }}
    end as numeric(18, 6)) as lead_velocity_rate
from compared
