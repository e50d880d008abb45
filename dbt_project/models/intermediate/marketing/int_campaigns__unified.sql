-- One row per campaign (HubSpot campaigns and Salesforce campaigns) with its campaign key.
with hubspot_campaigns as (

    select
        {{ dbt.hash("'hubspot_campaign:' || campaign_id") }} as campaign_key,
        'hubspot' as source_system,
        campaign_id as source_campaign_id,
        campaign_name,
        cast(null as {{ dbt.type_string() }}) as campaign_type,
        campaign_status,
        utm_campaign,
        start_date,
        end_date,
        budget_amount as budgeted_cost,
        cast(null as {{ dbt.type_float() }}) as actual_cost,
        false as is_removed
    from {{ ref('stg_hubspot__campaigns') }}

),

salesforce_campaigns as (

    select
        {{ dbt.hash("'salesforce_campaign:' || campaign_id") }} as campaign_key,
        'salesforce' as source_system,
        campaign_id as source_campaign_id,
        campaign_name,
        campaign_type,
        campaign_status,
        cast(null as {{ dbt.type_string() }}) as utm_campaign,
        start_date,
        end_date,
        budgeted_cost,
        actual_cost,
        coalesce(is_deleted, false) as is_removed
    from {{ ref('stg_salesforce__campaigns') }}

)

select * from hubspot_campaigns
union all
select * from salesforce_campaigns
