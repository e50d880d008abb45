-- One row per source row that breaks a rule the lead contract tolerates: the row is kept
-- (the person stays in the warehouse) but the offending value is not used downstream.
-- Rules that the contract does not tolerate are blocking Great Expectations checks on
-- the raw tables instead (expectations/), so they never get this far.
{% set person_emails = [
    ('hubspot.contacts', 'stg_hubspot__contacts', 'contact_id'),
    ('salesforce.lead', 'stg_salesforce__leads', 'lead_id'),
    ('salesforce.contact', 'stg_salesforce__contacts', 'contact_id'),
    ('files.list_members', 'stg_files__list_members', "file_name || ':' || cast(row_number as " ~ dbt.type_string() ~ ")"),
] %}

{% for source_table, model, record_id in person_emails %}
select
    cast('{{ source_table }}' as {{ dbt.type_string() }}) as source_table,
    cast({{ record_id }} as {{ dbt.type_string() }}) as source_record_id,
    cast('email_format' as {{ dbt.type_string() }}) as rule,
    cast('email ' || chr(34) || email || chr(34) || ' is not an email address: the record is kept, its email is not used for identity or reporting' as {{ dbt.type_string() }}) as reason,
    cast(email as {{ dbt.type_string() }}) as offending_value,
    cast(dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
    {{ leadbridge_now() }} as detected_at
from {{ ref(model) }}
where nullif(trim(email), '') is not null
    and email_normalized is null
{% if not loop.last %}union all{% endif %}
{% endfor %}
