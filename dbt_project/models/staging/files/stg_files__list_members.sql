-- One row per row of a dropped list file (event attendees, imports). Renames and casts only.
with source as (

    select * from {{ source('files', 'list_members') }}

),

renamed as (

    select
        cast(file_name as {{ dbt.type_string() }}) as file_name,
        cast(row_number as {{ dbt.type_bigint() }}) as row_number,
        cast(list_name as {{ dbt.type_string() }}) as list_name,
        cast(email as {{ dbt.type_string() }}) as email,
        {{ quarantined_email('email') }} as email_normalized,  -- malformed: null, see quarantine
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        cast(company as {{ dbt.type_string() }}) as company_name,
        cast(job_title as {{ dbt.type_string() }}) as job_title,
        cast({{ adapter.quote('status') }} as {{ dbt.type_string() }}) as list_status,
        {{ tz_to_utc('touched_at') }} as touched_at,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
