-- One row per HubSpot form submission (conversion). Renames and casts only.
with source as (

    select * from {{ source('hubspot', 'form_submissions') }}

),

renamed as (

    select
        cast(conversion_id as {{ dbt.type_string() }}) as conversion_id,
        cast(form_id as {{ dbt.type_string() }}) as form_id,
        {{ tz_to_utc('submitted_at') }} as submitted_at,
        cast(page_url as {{ dbt.type_string() }}) as page_url,
        cast(email as {{ dbt.type_string() }}) as email,
        {{ normalize_email('email') }} as email_normalized,
        cast({{ adapter.quote('values') }} as {{ dbt.type_string() }}) as values_json,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
