-- Every live Salesforce opportunity resolves to a person and an account.
select opportunity_id, person_id, account_key
from {{ ref('int_opportunities__persons') }}
where person_id is null or account_key is null
