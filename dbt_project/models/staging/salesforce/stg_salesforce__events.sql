-- One row per Salesforce calendar event (meeting). Renames and casts only.
with source as (

    select * from {{ source('salesforce', 'event') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as event_id,
        cast(who_id as {{ dbt.type_string() }}) as who_id,
        cast(what_id as {{ dbt.type_string() }}) as what_id,
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast({{ adapter.quote('type') }} as {{ dbt.type_string() }}) as event_type,
        {{ tz_to_utc('start_date_time') }} as starts_at,
        {{ tz_to_utc('end_date_time') }} as ends_at,
        cast(is_deleted as {{ dbt.type_boolean() }}) as is_deleted,
        {{ tz_to_utc('created_date') }} as created_at,
        {{ tz_to_utc('system_modstamp') }} as system_modstamp,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
