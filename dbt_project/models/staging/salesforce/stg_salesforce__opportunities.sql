-- One row per Salesforce opportunity. Renames and casts only.
with source as (

    select * from {{ source('salesforce', 'opportunity') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as opportunity_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,
        cast({{ adapter.quote('name') }} as {{ dbt.type_string() }}) as opportunity_name,
        cast(stage_name as {{ dbt.type_string() }}) as stage_name,
        cast(amount as {{ dbt.type_float() }}) as amount,
        cast(probability as {{ dbt.type_float() }}) as probability,
        cast(close_date as date) as close_date,
        cast(is_closed as {{ dbt.type_boolean() }}) as is_closed,
        cast(is_won as {{ dbt.type_boolean() }}) as is_won,
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        cast(lead_source as {{ dbt.type_string() }}) as lead_source,
        cast({{ adapter.quote('type') }} as {{ dbt.type_string() }}) as opportunity_type,
        cast(is_deleted as {{ dbt.type_boolean() }}) as is_deleted,
        {{ tz_to_utc('created_date') }} as created_at,
        {{ tz_to_utc('last_modified_date') }} as modified_at,
        {{ tz_to_utc('system_modstamp') }} as system_modstamp,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
