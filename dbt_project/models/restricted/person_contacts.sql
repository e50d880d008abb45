-- One row per person: clear contact details of the person's primary record (PII; granted to marketing and sales only).
select
    person_id,
    email,
    {{ sha256_hex('email') }} as email_hash,
    first_name,
    last_name,
    full_name,
    phone,
    job_title,
    company_name,
    primary_record_type,
    primary_record_id
from {{ ref('int_people__contacts') }}
