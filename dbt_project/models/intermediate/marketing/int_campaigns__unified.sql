-- One row per source campaign (HubSpot or Salesforce) with its campaign key. A campaign
-- run in both systems under the same name (case and surrounding spaces ignored) is one
-- campaign: both rows get the same key, so touches in either system credit it once. A
-- name used by two campaigns of the same system identifies neither: each keeps a key of
-- its own rather than being merged by guess.
with hubspot_campaigns as (

    select
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

),

unioned as (

    select * from hubspot_campaigns
    union all
    select * from salesforce_campaigns

),

named as (

    select
        unioned.*,
        lower(trim(campaign_name)) as name_key,
        count(*) over (
            partition by source_system, lower(trim(campaign_name))
        ) as same_name_in_system
    from unioned

)

select
    case
        when name_key is not null and name_key <> '' and same_name_in_system = 1
            then {{ dbt.hash("'campaign:' || name_key") }}
        else {{ dbt.hash("source_system || '_campaign:' || source_campaign_id") }}
    end as campaign_key,
    source_system,
    source_campaign_id,
    campaign_name,
    campaign_type,
    campaign_status,
    utm_campaign,
    start_date,
    end_date,
    budgeted_cost,
    actual_cost,
    is_removed
from named
