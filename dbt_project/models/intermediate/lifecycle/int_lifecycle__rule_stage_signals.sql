-- One row per stage signal from a lead-contract rule other than mapping and score:
-- sal_on_first_sales_touch (a sales touch; conditional: only counts once the person is
-- an MQL in the current cycle) and sql_on_lead_conversion (a Salesforce lead conversion).
with touches as (

    select * from {{ ref('int_sales__touches') }}

),

lead_history as (

    select * from {{ ref('stg_salesforce__lead_history') }}
    where field_name = 'leadConverted' and not coalesce(is_deleted, false)

),

leads as (

    select * from {{ ref('stg_salesforce__leads') }}
    where is_converted

),

conversions as (

    select lead_id, changed_at as converted_at, 'lead_history' as source_table, lead_history_id as source_record_id
    from lead_history

    union all

    select lead_id, cast(converted_date as {{ dbt.type_timestamp() }}), 'lead', lead_id
    from leads
    where converted_date is not null
        and not exists (select 1 from lead_history where lead_history.lead_id = leads.lead_id)

),

touch_signals as (

    select
        person_id,
        touched_at as signal_at,
        'sal' as canonical_stage,
        'sal_on_first_sales_touch' as signal_rule,
        true as is_conditional,
        source_system,
        source_table,
        source_record_id,
        touch_type as signal_detail
    from touches
    where {{ contract_flag('sal_on_first_sales_touch') }}

),

conversion_signals as (

    select
        record_persons.person_id,
        conversions.converted_at as signal_at,
        'sql' as canonical_stage,
        'sql_on_lead_conversion' as signal_rule,
        false as is_conditional,
        'salesforce' as source_system,
        conversions.source_table,
        conversions.source_record_id,
        'lead converted' as signal_detail
    from conversions
    inner join {{ ref('int_identity__record_persons') }} as record_persons
        on record_persons.node_key = 'salesforce_lead:' || conversions.lead_id
    where {{ contract_flag('sql_on_lead_conversion') }}

)

select * from touch_signals
union all
select * from conversion_signals
