-- One row per Salesforce lead (including deleted and merged-away leads). Renames and casts only.
with source as (

    select * from {{ source('salesforce', 'lead') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as lead_id,
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        cast(email as {{ dbt.type_string() }}) as email,
        {{ quarantined_email('email') }} as email_normalized,  -- malformed: null, see quarantine
        cast(company as {{ dbt.type_string() }}) as company_name,
        cast(title as {{ dbt.type_string() }}) as title,
        cast(phone as {{ dbt.type_string() }}) as phone,
        cast({{ adapter.quote('status') }} as {{ dbt.type_string() }}) as lead_status,
        cast(lead_source as {{ dbt.type_string() }}) as lead_source,
        cast(rating as {{ dbt.type_string() }}) as rating,
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,
        cast(is_converted as {{ dbt.type_boolean() }}) as is_converted,
        cast(converted_date as date) as converted_date,
        cast(converted_contact_id as {{ dbt.type_string() }}) as converted_contact_id,
        cast(converted_account_id as {{ dbt.type_string() }}) as converted_account_id,
        cast(converted_opportunity_id as {{ dbt.type_string() }}) as converted_opportunity_id,
        cast(master_record_id as {{ dbt.type_string() }}) as master_record_id,
        cast(is_deleted as {{ dbt.type_boolean() }}) as is_deleted,
        {{ tz_to_utc('created_date') }} as created_at,
        {{ tz_to_utc('last_modified_date') }} as modified_at,
        {{ tz_to_utc('system_modstamp') }} as system_modstamp,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
