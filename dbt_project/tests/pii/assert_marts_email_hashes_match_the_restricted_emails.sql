-- The marts' email_hash is the hash of exactly the email restricted shows for the same
-- person or owner (so marketing can join a hashed audience back), and never an address.
select 'dim_person' as relation, persons.person_id as key, persons.email_hash
from {{ ref('dim_person') }} as persons
left join {{ ref('person_contacts') }} as contacts on persons.person_id = contacts.person_id
where coalesce(persons.email_hash, '~') <> coalesce({{ sha256_hex('contacts.email') }}, '~')
    or persons.email_hash like '%@%'

union all

select 'dim_owner', owners.owner_key, owners.email_hash
from {{ ref('dim_owner') }} as owners
left join {{ ref('owner_contacts') }} as contacts on owners.owner_key = contacts.owner_key
where coalesce(owners.email_hash, '~') <> coalesce({{ sha256_hex('contacts.email') }}, '~')
    or owners.email_hash like '%@%'
