-- One row per Salesforce account. Renames and casts only.
with source as (

    select * from {{ source('salesforce', 'account') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as account_id,
        cast({{ adapter.quote('name') }} as {{ dbt.type_string() }}) as account_name,
        cast(website as {{ dbt.type_string() }}) as website,
        cast(industry as {{ dbt.type_string() }}) as industry,
        cast({{ adapter.quote('type') }} as {{ dbt.type_string() }}) as account_type,
        cast(number_of_employees as {{ dbt.type_bigint() }}) as employee_count,
        cast(annual_revenue as {{ dbt.type_float() }}) as annual_revenue,
        cast(billing_country as {{ dbt.type_string() }}) as billing_country,
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,
        cast(master_record_id as {{ dbt.type_string() }}) as master_record_id,
        cast(is_deleted as {{ dbt.type_boolean() }}) as is_deleted,
        {{ tz_to_utc('created_date') }} as created_at,
        {{ tz_to_utc('system_modstamp') }} as system_modstamp,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
