-- One row per campaign (HubSpot campaigns and Salesforce campaigns; not merged across systems).
select
    campaign_key,
    source_system,
    source_campaign_id,
    campaign_name,
    campaign_type,
    campaign_status,
    utm_campaign,
    start_date,
    end_date,
    cast(budgeted_cost as numeric(18, 2)) as budgeted_cost,
    cast(actual_cost as numeric(18, 2)) as actual_cost,
    not is_removed as is_active
from {{ ref('int_campaigns__unified') }}
