-- One row per Salesforce opportunity contact role (a contact's part in an opportunity). Renames and casts only.
with source as (

    select * from {{ source('salesforce', 'opportunity_contact_role') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as opportunity_contact_role_id,
        cast(opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,
        cast({{ adapter.quote('role') }} as {{ dbt.type_string() }}) as contact_role,
        cast(is_primary as {{ dbt.type_boolean() }}) as is_primary,
        cast(is_deleted as {{ dbt.type_boolean() }}) as is_deleted,
        {{ tz_to_utc('created_date') }} as created_at,
        {{ tz_to_utc('system_modstamp') }} as system_modstamp,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
