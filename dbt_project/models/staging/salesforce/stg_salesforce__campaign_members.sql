-- One row per Salesforce campaign member (a lead or contact in a campaign). Renames and casts only.
with source as (

    select * from {{ source('salesforce', 'campaign_member') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as campaign_member_id,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        cast(lead_id as {{ dbt.type_string() }}) as lead_id,
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,
        cast({{ adapter.quote('status') }} as {{ dbt.type_string() }}) as member_status,
        cast(has_responded as {{ dbt.type_boolean() }}) as has_responded,
        cast(first_responded_date as date) as first_responded_date,
        cast(is_deleted as {{ dbt.type_boolean() }}) as is_deleted,
        {{ tz_to_utc('created_date') }} as created_at,
        {{ tz_to_utc('system_modstamp') }} as system_modstamp,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
