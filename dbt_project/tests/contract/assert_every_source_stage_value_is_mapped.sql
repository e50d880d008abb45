-- The lead contract maps every stage-bearing source value to a canonical stage.
-- Fails with one row per value seen in the sources that lead_contract__stage_mappings
-- does not map (so a new HubSpot lifecycle stage or Salesforce status is never
-- defaulted silently: add it to the seed, with the stage both teams agree on).
with observed as (

    select 'hubspot' as source_system, 'lifecyclestage' as source_field, lifecycle_stage as source_value
    from {{ ref('stg_hubspot__contacts') }}
    union
    select 'hubspot', 'hs_lead_status', lead_status from {{ ref('stg_hubspot__contacts') }}
    union
    select 'hubspot', property_name, property_value
    from {{ ref('stg_hubspot__contact_property_history') }}
    where property_name in ('lifecyclestage', 'hs_lead_status')
    union
    select 'salesforce', 'Lead.Status', lead_status from {{ ref('stg_salesforce__leads') }}
    union
    select 'salesforce', 'Lead.Status', old_value from {{ ref('stg_salesforce__lead_history') }} where field_name = 'Status'
    union
    select 'salesforce', 'Lead.Status', new_value from {{ ref('stg_salesforce__lead_history') }} where field_name = 'Status'
    union
    select 'salesforce', 'Opportunity.StageName', stage_name from {{ ref('stg_salesforce__opportunities') }}
    union
    select 'salesforce', 'Opportunity.StageName', stage_name from {{ ref('stg_salesforce__opportunity_history') }}
    union
    select 'files', 'list_members.status', list_status from {{ ref('stg_files__list_members') }}

)

select observed.*
from observed
left join {{ ref('int_lead_contract__stage_mappings') }} as mappings
    on {{ stage_mapping_matches('mappings', 'observed.source_system', 'observed.source_field', 'observed.source_value') }}
where nullif(trim(observed.source_value), '') is not null
    and mappings.canonical_stage is null
