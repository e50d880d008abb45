-- One row per Salesforce campaign. Renames and casts only.
with source as (

    select * from {{ source('salesforce', 'campaign') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as campaign_id,
        cast({{ adapter.quote('name') }} as {{ dbt.type_string() }}) as campaign_name,
        cast({{ adapter.quote('type') }} as {{ dbt.type_string() }}) as campaign_type,
        cast({{ adapter.quote('status') }} as {{ dbt.type_string() }}) as campaign_status,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(budgeted_cost as {{ dbt.type_float() }}) as budgeted_cost,
        cast(actual_cost as {{ dbt.type_float() }}) as actual_cost,
        cast(parent_id as {{ dbt.type_string() }}) as parent_campaign_id,
        cast(is_active as {{ dbt.type_boolean() }}) as is_active,
        cast(is_deleted as {{ dbt.type_boolean() }}) as is_deleted,
        {{ tz_to_utc('created_date') }} as created_at,
        {{ tz_to_utc('system_modstamp') }} as system_modstamp,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
