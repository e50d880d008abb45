-- One row per owner (dim_owner's grain): the employee's name and email, or the Salesforce queue's label (PII; granted to marketing and sales only).
select
    owner_key,
    max(owner_name) as owner_name,
    max(email_normalized) as email,
    {{ sha256_hex('max(email_normalized)') }} as email_hash,
    {{ dbt.bool_or('is_queue') }} as is_queue
from {{ ref('int_owners__unified') }}
group by owner_key
