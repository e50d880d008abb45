-- One row per campaign: a HubSpot and a Salesforce campaign of the same name are one
-- campaign (int_campaigns__unified decides); its ids in each system sit side by side.
select
    campaign_key,
    case
        when count(distinct source_system) > 1 then 'both'
        else min(source_system)
    end as source_system,
    max(case when source_system = 'hubspot' then source_campaign_id end) as hubspot_campaign_id,
    max(case when source_system = 'salesforce' then source_campaign_id end)
        as salesforce_campaign_id,
    coalesce(
        max(case when source_system = 'salesforce' then campaign_name end), max(campaign_name)
    ) as campaign_name,
    max(campaign_type) as campaign_type,
    coalesce(
        max(case when source_system = 'salesforce' then campaign_status end),
        max(campaign_status)
    ) as campaign_status,
    max(utm_campaign) as utm_campaign,
    min(start_date) as start_date,
    max(end_date) as end_date,
    cast(coalesce(
        max(case when source_system = 'salesforce' then budgeted_cost end), max(budgeted_cost)
    ) as numeric(18, 2)) as budgeted_cost,
    cast(max(actual_cost) as numeric(18, 2)) as actual_cost,
    {{ dbt.bool_or('not is_removed') }} as is_active
from {{ ref('int_campaigns__unified') }}
group by campaign_key
