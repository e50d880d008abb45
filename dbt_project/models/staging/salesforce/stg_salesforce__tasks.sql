-- One row per Salesforce task (call, email, to-do). Renames and casts only.
with source as (

    select * from {{ source('salesforce', 'task') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as task_id,
        cast(who_id as {{ dbt.type_string() }}) as who_id,
        cast(what_id as {{ dbt.type_string() }}) as what_id,
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast({{ adapter.quote('type') }} as {{ dbt.type_string() }}) as task_type,
        cast(task_subtype as {{ dbt.type_string() }}) as task_subtype,
        cast({{ adapter.quote('status') }} as {{ dbt.type_string() }}) as task_status,
        cast(priority as {{ dbt.type_string() }}) as priority,
        cast(is_closed as {{ dbt.type_boolean() }}) as is_closed,
        cast(activity_date as date) as activity_date,
        {{ tz_to_utc('completed_date_time') }} as completed_at,
        -- the write-back's External ID: a custom field, absent from raw until the org has it
        {{ column_or_null(source('salesforce', 'task'), 'leadbridge_key__c', dbt.type_string()) }} as leadbridge_key,
        cast(is_deleted as {{ dbt.type_boolean() }}) as is_deleted,
        {{ tz_to_utc('created_date') }} as created_at,
        {{ tz_to_utc('system_modstamp') }} as system_modstamp,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
