-- One row per Salesforce lead field change (Status, Owner, Rating, created, leadConverted). Renames and casts only.
with source as (

    select * from {{ source('salesforce', 'lead_history') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as lead_history_id,
        cast(lead_id as {{ dbt.type_string() }}) as lead_id,
        cast({{ adapter.quote('field') }} as {{ dbt.type_string() }}) as field_name,
        cast(old_value as {{ dbt.type_string() }}) as old_value,
        cast(new_value as {{ dbt.type_string() }}) as new_value,
        cast(is_deleted as {{ dbt.type_boolean() }}) as is_deleted,
        cast(created_by_id as {{ dbt.type_string() }}) as created_by_id,
        {{ tz_to_utc('created_date') }} as changed_at,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
