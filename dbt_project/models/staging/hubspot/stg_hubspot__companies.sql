-- One row per HubSpot company. Renames and casts only.
with source as (

    select * from {{ source('hubspot', 'companies') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as company_id,
        cast({{ adapter.quote('name') }} as {{ dbt.type_string() }}) as company_name,
        cast(domain as {{ dbt.type_string() }}) as domain,
        cast(industry as {{ dbt.type_string() }}) as industry,
        cast(numberofemployees as {{ dbt.type_bigint() }}) as employee_count,
        cast(annualrevenue as {{ dbt.type_float() }}) as annual_revenue,
        cast(country as {{ dbt.type_string() }}) as country,
        cast(hubspot_owner_id as {{ dbt.type_string() }}) as owner_id,
        cast(salesforceaccountid as {{ dbt.type_string() }}) as salesforce_account_id,
        {{ tz_to_utc('createdate') }} as created_at,
        {{ tz_to_utc('hs_lastmodifieddate') }} as modified_at,
        cast(archived as {{ dbt.type_boolean() }}) as is_archived,
        {{ tz_to_utc('archived_at') }} as archived_at,
        {{ tz_to_utc('created_at') }} as object_created_at,
        {{ tz_to_utc('updated_at') }} as object_updated_at,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
