-- One row per campaign touch with a person: a HubSpot form submission whose page URL
-- carries `utm_campaign=<campaign hs_utm>`, or a Salesforce campaign member who
-- responded (touch time: first responded date, else the membership's creation).
-- A UTM code that several HubSpot campaigns share (a copied campaign keeps its code)
-- credits one of them, never all: the one that started last on or before the
-- submission's day, else the first to start, then the lowest campaign id. Crediting
-- every match would count one submission several times.
with submissions as (

    select
        conversion_id,
        submitted_at,
        email_normalized,
        nullif(
            {{ dbt.split_part(dbt.split_part('page_url', "'utm_campaign='", 2), "'&'", 1) }},
            ''
        ) as utm_campaign
    from {{ ref('stg_hubspot__form_submissions') }}

),

campaigns as (

    select * from {{ ref('int_campaigns__unified') }}

),

person_emails as (

    select * from {{ ref('int_identity__person_emails') }}

),

record_persons as (

    select node_key, person_id from {{ ref('int_identity__record_persons') }}

),

form_campaigns as (

    select
        submissions.conversion_id,
        campaigns.campaign_key,
        row_number() over (
            partition by submissions.conversion_id
            order by
                case when campaigns.start_date <= cast(submissions.submitted_at as date) then 0 else 1 end asc,
                case when campaigns.start_date <= cast(submissions.submitted_at as date) then campaigns.start_date end desc nulls last,
                campaigns.start_date asc nulls last,
                campaigns.source_campaign_id asc
        ) as utm_match_rank
    from submissions
    inner join campaigns
        on campaigns.source_system = 'hubspot'
        and lower(campaigns.utm_campaign) = lower(submissions.utm_campaign)

),

form_touches as (

    select
        'hubspot' as source_system,
        'form_submissions' as source_table,
        submissions.conversion_id as source_record_id,
        person_emails.person_id,
        form_campaigns.campaign_key,
        submissions.submitted_at as touched_at,
        'form_submission' as touch_type
    from submissions
    inner join form_campaigns
        on form_campaigns.conversion_id = submissions.conversion_id
        and form_campaigns.utm_match_rank = 1
    inner join person_emails on submissions.email_normalized = person_emails.email_normalized

),

member_touches as (

    select
        'salesforce' as source_system,
        'campaign_member' as source_table,
        members.campaign_member_id as source_record_id,
        coalesce(contact_person.person_id, lead_person.person_id) as person_id,
        campaigns.campaign_key,
        coalesce(cast(members.first_responded_date as {{ dbt.type_timestamp() }}), members.created_at) as touched_at,
        'campaign_response' as touch_type
    from {{ ref('stg_salesforce__campaign_members') }} as members
    inner join campaigns
        on campaigns.source_system = 'salesforce'
        and campaigns.source_campaign_id = members.campaign_id
    left join record_persons as contact_person
        on contact_person.node_key = 'salesforce_contact:' || members.contact_id
    left join record_persons as lead_person
        on lead_person.node_key = 'salesforce_lead:' || members.lead_id
    where members.has_responded
        and not coalesce(members.is_deleted, false)

)

select
    {{ surrogate_key(['source_system', 'source_table', 'source_record_id']) }} as campaign_touch_id,
    *
from (
    select * from form_touches
    union all
    select * from member_touches where person_id is not null
) as touches
