-- One row per person an erasure request names (schema `privacy`, leadbridge/erasure.py):
-- the people activation never writes about. Before the first request there is no such
-- table, and nobody is erased.
{%- set erased = adapter.get_relation(database=this.database, schema='privacy', identifier='erased_identifiers') if execute else none %}
with identifiers as (

    {%- if erased %}
    select kind, {{ adapter.quote('value') }} as erased_value from {{ erased }}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as kind,
        cast(null as {{ dbt.type_string() }}) as erased_value
    where 1 = 0
    {%- endif %}

),

persons as (

    select * from {{ ref('dim_person') }}

)

select distinct persons.person_id
from persons
inner join identifiers
    on (identifiers.kind = 'hubspot_contact' and identifiers.erased_value = persons.hubspot_contact_id)
    or (identifiers.kind = 'salesforce_lead' and identifiers.erased_value = persons.salesforce_lead_id)
    or (identifiers.kind = 'salesforce_contact' and identifiers.erased_value = persons.salesforce_contact_id)
    or (identifiers.kind = 'email_sha256' and identifiers.erased_value = persons.email_hash)
