-- One row per Salesforce opportunity (not deleted) with its person and account: the
-- primary contact role, else the opportunity's contact, else the converted lead.
with opportunities as (

    select * from {{ ref('stg_salesforce__opportunities') }}
    where not coalesce(is_deleted, false)

),

record_persons as (

    select node_key, person_id from {{ ref('int_identity__record_persons') }}

),

primary_roles as (

    select opportunity_id, min(contact_id) as contact_id
    from {{ ref('stg_salesforce__opportunity_contact_roles') }}
    where is_primary and not coalesce(is_deleted, false)
    group by opportunity_id

),

converted_leads as (

    select converted_opportunity_id as opportunity_id, min(lead_id) as lead_id
    from {{ ref('stg_salesforce__leads') }}
    where converted_opportunity_id is not null
    group by converted_opportunity_id

),

accounts as (

    select source_account_id, account_key
    from {{ ref('int_accounts__unified') }}
    where source_system = 'salesforce'

),

owners as (

    select source_owner_id, owner_key
    from {{ ref('int_owners__unified') }}
    where source_system = 'salesforce'

)

select
    opportunities.opportunity_id,
    opportunities.opportunity_name,
    coalesce(role_person.person_id, contact_person.person_id, lead_person.person_id) as person_id,
    case
        when role_person.person_id is not null then 'primary_contact_role'
        when contact_person.person_id is not null then 'opportunity_contact'
        when lead_person.person_id is not null then 'converted_lead'
    end as person_rule,
    accounts.account_key,
    owners.owner_key,
    opportunities.stage_name,
    opportunities.amount,
    opportunities.close_date,
    coalesce(opportunities.is_closed, false) as is_closed,
    coalesce(opportunities.is_won, false) as is_won,
    opportunities.created_at,
    opportunities.campaign_id as source_campaign_id
from opportunities
left join primary_roles on opportunities.opportunity_id = primary_roles.opportunity_id
left join record_persons as role_person
    on role_person.node_key = 'salesforce_contact:' || primary_roles.contact_id
left join record_persons as contact_person
    on contact_person.node_key = 'salesforce_contact:' || opportunities.contact_id
left join converted_leads on opportunities.opportunity_id = converted_leads.opportunity_id
left join record_persons as lead_person
    on lead_person.node_key = 'salesforce_lead:' || converted_leads.lead_id
left join accounts on opportunities.account_id = accounts.source_account_id
left join owners on opportunities.owner_id = owners.source_owner_id
