-- One row per HubSpot form. Renames and casts only.
with source as (

    select * from {{ source('hubspot', 'forms') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as form_id,
        cast({{ adapter.quote('name') }} as {{ dbt.type_string() }}) as form_name,
        cast(form_type as {{ dbt.type_string() }}) as form_type,
        cast(archived as {{ dbt.type_boolean() }}) as is_archived,
        {{ tz_to_utc('created_at') }} as created_at,
        {{ tz_to_utc('updated_at') }} as updated_at,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
