-- One row per normalized email that identifies exactly one person (events that carry
-- only an email — form submissions, email events, list rows — are matched through it).
-- An email shared by several people matches none of them.
with records as (

    select * from {{ ref('int_identity__records') }}
    where email_normalized is not null

),

persons as (

    select node_key, person_id from {{ ref('int_identity__record_persons') }}

)

select
    records.email_normalized,
    min(persons.person_id) as person_id
from records
inner join persons on records.node_key = persons.node_key
group by records.email_normalized
having count(distinct persons.person_id) = 1
