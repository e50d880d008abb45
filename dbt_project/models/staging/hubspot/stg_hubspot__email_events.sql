-- One row per HubSpot marketing-email event (sent, delivered, open, click, bounce, …). Renames and casts only.
with source as (

    select * from {{ source('hubspot', 'email_events') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as email_event_id,
        cast({{ adapter.quote('type') }} as {{ dbt.type_string() }}) as event_type,
        cast(recipient as {{ dbt.type_string() }}) as recipient,
        {{ normalize_email('recipient') }} as recipient_normalized,
        cast(email_campaign_id as {{ dbt.type_bigint() }}) as email_campaign_id,
        {{ tz_to_utc('created') }} as occurred_at,
        cast(url as {{ dbt.type_string() }}) as url,
        cast(subscription_status as {{ dbt.type_string() }}) as subscription_status,
        cast(portal_id as {{ dbt.type_bigint() }}) as portal_id,
        cast(app_id as {{ dbt.type_bigint() }}) as app_id,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
