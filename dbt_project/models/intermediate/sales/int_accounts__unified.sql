-- One row per source account record (Salesforce account, HubSpot company) with the
-- unified account key: a HubSpot company synced to a Salesforce account
-- (salesforceaccountid) shares that account's key; merged Salesforce accounts take their
-- master's key.
with salesforce_accounts as (

    select * from {{ ref('stg_salesforce__accounts') }}

),

hubspot_companies as (

    select * from {{ ref('stg_hubspot__companies') }}

),

salesforce_keys as (

    select
        'salesforce' as source_system,
        account_id as source_account_id,
        {{ dbt.hash("'salesforce_account:' || coalesce(master_record_id, account_id)") }} as account_key,
        account_name,
        coalesce(is_deleted, false) as is_removed
    from salesforce_accounts

),

hubspot_keys as (

    select
        'hubspot' as source_system,
        hubspot_companies.company_id as source_account_id,
        case
            when salesforce_accounts.account_id is not null
                then {{ dbt.hash("'salesforce_account:' || coalesce(salesforce_accounts.master_record_id, salesforce_accounts.account_id)") }}
            else {{ dbt.hash("'hubspot_company:' || hubspot_companies.company_id") }}
        end as account_key,
        hubspot_companies.company_name as account_name,
        coalesce(hubspot_companies.is_archived, false) as is_removed
    from hubspot_companies
    left join salesforce_accounts
        on hubspot_companies.salesforce_account_id = salesforce_accounts.account_id

)

select * from salesforce_keys
union all
select * from hubspot_keys
