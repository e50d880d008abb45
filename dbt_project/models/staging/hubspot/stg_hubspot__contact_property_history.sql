-- One row per HubSpot contact per tracked property (lifecyclestage, hs_lead_status, hubspot_owner_id, hubspotscore) per change timestamp. Renames and casts only.
with source as (

    select * from {{ source('hubspot', 'contact_property_history') }}

),

renamed as (

    select
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,
        cast({{ adapter.quote('property') }} as {{ dbt.type_string() }}) as property_name,
        cast({{ adapter.quote('value') }} as {{ dbt.type_string() }}) as property_value,
        {{ tz_to_utc(adapter.quote('timestamp')) }} as changed_at,
        cast(source_type as {{ dbt.type_string() }}) as change_source_type,
        cast(source_id as {{ dbt.type_string() }}) as change_source_id,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
