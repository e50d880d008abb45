-- One row per Salesforce opportunity history snapshot (written on each stage, amount or close-date change). Renames and casts only.
with source as (

    select * from {{ source('salesforce', 'opportunity_history') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as opportunity_history_id,
        cast(opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
        cast(stage_name as {{ dbt.type_string() }}) as stage_name,
        cast(amount as {{ dbt.type_float() }}) as amount,
        cast(probability as {{ dbt.type_float() }}) as probability,
        cast(close_date as date) as close_date,
        cast(is_deleted as {{ dbt.type_boolean() }}) as is_deleted,
        cast(created_by_id as {{ dbt.type_string() }}) as created_by_id,
        {{ tz_to_utc('created_date') }} as changed_at,
        {{ tz_to_utc('system_modstamp') }} as system_modstamp,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
