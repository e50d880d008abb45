-- One row per stage signal for a person, from every rule of the lead contract:
-- stage_mapping, mql_score_threshold, sal_on_first_sales_touch, sql_on_lead_conversion.
select * from {{ ref('int_lifecycle__mapped_stage_signals') }}
union all
select * from {{ ref('int_lifecycle__mql_score_signals') }}
union all
select * from {{ ref('int_lifecycle__rule_stage_signals') }}
