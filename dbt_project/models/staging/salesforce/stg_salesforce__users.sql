-- One row per Salesforce user. Renames and casts only.
with source as (

    select * from {{ source('salesforce', 'user') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as user_id,
        cast({{ adapter.quote('name') }} as {{ dbt.type_string() }}) as full_name,
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        cast(email as {{ dbt.type_string() }}) as email,
        {{ normalize_email('email') }} as email_normalized,
        cast(title as {{ dbt.type_string() }}) as title,
        cast(department as {{ dbt.type_string() }}) as department,
        cast(is_active as {{ dbt.type_boolean() }}) as is_active,
        {{ tz_to_utc('created_date') }} as created_at,
        {{ tz_to_utc('system_modstamp') }} as system_modstamp,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
