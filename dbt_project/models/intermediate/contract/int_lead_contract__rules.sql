-- One row per rule version with its validity window [valid_from, valid_to).
with rules as (

    select * from {{ ref('lead_contract__rules') }}

),

versioned as (

    select
        rule_key,
        rule_value,
        unit,
        description,
        cast(effective_from as {{ dbt.type_timestamp() }}) as valid_from,
        coalesce(
            cast(lead(effective_from) over (partition by rule_key order by effective_from) as {{ dbt.type_timestamp() }}),
            cast('9999-12-31' as {{ dbt.type_timestamp() }})
        ) as valid_to

    from rules

)

select
    *,
    (valid_from <= {{ leadbridge_now() }} and {{ leadbridge_now() }} < valid_to) as is_current
from versioned
