-- One row per account (a Salesforce account, with its synced HubSpot company, or a HubSpot-only company).
with unified as (

    select * from {{ ref('int_accounts__unified') }}

),

salesforce_accounts as (

    select * from {{ ref('stg_salesforce__accounts') }}

),

hubspot_companies as (

    select * from {{ ref('stg_hubspot__companies') }}

),

owners as (

    select * from {{ ref('int_owners__unified') }}

),

joined as (

    select
        unified.account_key,
        unified.source_system,
        unified.source_account_id,
        unified.is_removed,
        coalesce(salesforce_accounts.account_name, hubspot_companies.company_name) as account_name,
        hubspot_companies.domain,
        coalesce(salesforce_accounts.industry, hubspot_companies.industry) as industry,
        coalesce(salesforce_accounts.employee_count, hubspot_companies.employee_count) as employee_count,
        coalesce(salesforce_accounts.annual_revenue, hubspot_companies.annual_revenue) as annual_revenue,
        coalesce(salesforce_accounts.billing_country, hubspot_companies.country) as country,
        owners.owner_key,
        case when unified.source_system = 'salesforce' then 1 else 2 end as system_rank
    from unified
    left join salesforce_accounts
        on unified.source_system = 'salesforce' and unified.source_account_id = salesforce_accounts.account_id
    left join hubspot_companies
        on unified.source_system = 'hubspot' and unified.source_account_id = hubspot_companies.company_id
    left join owners
        on owners.source_system = unified.source_system
        and owners.source_owner_id = coalesce(salesforce_accounts.owner_id, hubspot_companies.owner_id)

),

ranked as (

    select
        joined.*,
        row_number() over (
            partition by account_key
            order by case when is_removed then 1 else 0 end, system_rank, source_account_id
        ) as record_rank
    from joined

)

select
    account_key,
    max(case when source_system = 'salesforce' then source_account_id end) as salesforce_account_id,
    max(case when source_system = 'hubspot' then source_account_id end) as hubspot_company_id,
    max(case when record_rank = 1 then account_name end) as account_name,
    max(domain) as domain,
    max(case when record_rank = 1 then industry end) as industry,
    cast(max(case when record_rank = 1 then employee_count end) as {{ dbt.type_bigint() }}) as employee_count,
    cast(max(case when record_rank = 1 then annual_revenue end) as numeric(18, 2)) as annual_revenue,
    max(case when record_rank = 1 then country end) as country,
    max(case when record_rank = 1 then owner_key end) as owner_key,
    {{ dbt.bool_or('not is_removed') }} as is_active
from ranked
group by account_key
