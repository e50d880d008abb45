-- One row per HubSpot score change that makes a person an MQL (rule: mql_score_threshold):
-- the new score is at or above the threshold in force at the change and the previous
-- score of the same contact was below it (or there was none); fit criterion
-- (mql_fit_excluded_email_domains): the contact's email is not at a personal domain.
with scores as (

    select
        contact_id,
        changed_at,
        {{ dbt.safe_cast('property_value', dbt.type_numeric()) }} as score,
        lag({{ dbt.safe_cast('property_value', dbt.type_numeric()) }}) over (
            partition by contact_id order by changed_at
        ) as previous_score
    from {{ ref('stg_hubspot__contact_property_history') }}
    where property_name = 'hubspotscore'

),

thresholds as (

    select * from {{ ref('int_lead_contract__rules') }}

),

excluded_domains as (

    select '|' || lower({{ contract_rule('mql_fit_excluded_email_domains') }}) || '|' as domain_list

),

contact_domains as (

    select
        record_id as contact_id,
        {{ dbt.split_part('email_normalized', "'@'", 2) }} as email_domain
    from {{ ref('int_identity__records') }}
    where record_type = 'hubspot_contact'

),

judged as (

    select
        scores.*,
        {{ dbt.safe_cast('thresholds.rule_value', dbt.type_numeric()) }} as threshold
    from scores
    inner join thresholds
        on {{ contract_rule_in_force('thresholds', 'mql_score_threshold', 'scores.changed_at') }}

)

select
    record_persons.person_id,
    judged.changed_at as signal_at,
    'mql' as canonical_stage,
    'mql_score_threshold' as signal_rule,
    false as is_conditional,
    'hubspot' as source_system,
    'contact_property_history' as source_table,
    judged.contact_id || '|hubspotscore|' || cast(judged.changed_at as {{ dbt.type_string() }}) as source_record_id,
    'hubspotscore=' || cast(judged.score as {{ dbt.type_string() }})
        || ' >= ' || cast(judged.threshold as {{ dbt.type_string() }}) as signal_detail
from judged
inner join {{ ref('int_identity__record_persons') }} as record_persons
    on record_persons.node_key = 'hubspot_contact:' || judged.contact_id
left join contact_domains on judged.contact_id = contact_domains.contact_id
cross join excluded_domains
where judged.score >= judged.threshold
    and (judged.previous_score is null or judged.previous_score < judged.threshold)
    and (
        contact_domains.email_domain is null
        or excluded_domains.domain_list is null
        or excluded_domains.domain_list not like '%|' || contact_domains.email_domain || '|%'
    )
