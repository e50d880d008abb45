-- One row per HubSpot task (the sales team's and Leadbridge's follow-ups, archived ones included). Renames and casts only.
with source as (

    select * from {{ source('hubspot', 'tasks') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as task_id,
        cast(contact_ids as {{ dbt.type_string() }}) as contact_ids,
        cast(hubspot_owner_id as {{ dbt.type_string() }}) as owner_id,
        cast(hs_task_subject as {{ dbt.type_string() }}) as subject,
        cast(hs_task_type as {{ dbt.type_string() }}) as task_type,
        cast(hs_task_status as {{ dbt.type_string() }}) as task_status,
        {{ tz_to_utc('hs_timestamp') }} as due_at,
        {{ tz_to_utc('hs_task_completion_date') }} as completed_at,
        cast(leadbridge_key as {{ dbt.type_string() }}) as leadbridge_key,
        {{ tz_to_utc('hs_createdate') }} as created_at,
        {{ tz_to_utc('hs_lastmodifieddate') }} as modified_at,
        cast(archived as {{ dbt.type_boolean() }}) as is_archived,
        {{ tz_to_utc('archived_at') }} as archived_at,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
