-- One row per HubSpot contact (including archived and merged-away contacts). Renames and casts only.
with source as (

    select * from {{ source('hubspot', 'contacts') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as contact_id,
        cast(email as {{ dbt.type_string() }}) as email,
        {{ quarantined_email('email') }} as email_normalized,  -- malformed: null, see quarantine
        cast(firstname as {{ dbt.type_string() }}) as first_name,
        cast(lastname as {{ dbt.type_string() }}) as last_name,
        cast(company as {{ dbt.type_string() }}) as company_name,
        cast(jobtitle as {{ dbt.type_string() }}) as job_title,
        cast(phone as {{ dbt.type_string() }}) as phone,
        cast(lifecyclestage as {{ dbt.type_string() }}) as lifecycle_stage,
        cast(hs_lead_status as {{ dbt.type_string() }}) as lead_status,
        cast(hubspotscore as {{ dbt.type_bigint() }}) as hubspot_score,
        cast(hubspot_owner_id as {{ dbt.type_string() }}) as owner_id,
        cast(associatedcompanyid as {{ dbt.type_string() }}) as company_id,
        cast(hs_analytics_source as {{ dbt.type_string() }}) as analytics_source,
        cast(hs_analytics_source_data_1 as {{ dbt.type_string() }}) as analytics_source_data_1,
        cast(hs_analytics_source_data_2 as {{ dbt.type_string() }}) as analytics_source_data_2,
        cast(first_conversion_event_name as {{ dbt.type_string() }}) as first_conversion_event_name,
        {{ tz_to_utc('first_conversion_date') }} as first_conversion_at,
        cast(recent_conversion_event_name as {{ dbt.type_string() }}) as recent_conversion_event_name,
        {{ tz_to_utc('recent_conversion_date') }} as recent_conversion_at,
        {{ tz_to_utc('hs_lifecyclestage_subscriber_date') }} as became_subscriber_at,
        {{ tz_to_utc('hs_lifecyclestage_lead_date') }} as became_lead_at,
        {{ tz_to_utc('hs_lifecyclestage_marketingqualifiedlead_date') }} as became_mql_at,
        {{ tz_to_utc('hs_lifecyclestage_salesqualifiedlead_date') }} as became_sql_at,
        {{ tz_to_utc('hs_lifecyclestage_opportunity_date') }} as became_opportunity_at,
        {{ tz_to_utc('hs_lifecyclestage_customer_date') }} as became_customer_at,
        cast(hs_merged_object_ids as {{ dbt.type_string() }}) as merged_contact_ids,
        cast(salesforceleadid as {{ dbt.type_string() }}) as salesforce_lead_id,
        cast(salesforcecontactid as {{ dbt.type_string() }}) as salesforce_contact_id,
        {{ tz_to_utc('createdate') }} as created_at,
        {{ tz_to_utc('lastmodifieddate') }} as modified_at,
        cast(archived as {{ dbt.type_boolean() }}) as is_archived,
        {{ tz_to_utc('archived_at') }} as archived_at,
        {{ tz_to_utc('created_at') }} as object_created_at,
        {{ tz_to_utc('updated_at') }} as object_updated_at,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
