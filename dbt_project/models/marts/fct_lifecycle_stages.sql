-- One row per person per lifecycle stage interval (valid_from to valid_to).
{#- Incremental on the people touched: the people whose timeline rows were rebuilt (their
    fingerprint, carried over from int_lifecycle__stage_timeline, is not stored here) are
    rebuilt, and so is every current interval, whose hours_in_stage run to the night: the
    one part of a row that changes with time alone. The same rows as --full-refresh. -#}
{{ config(
    materialized=incremental_or_table(),
    unique_key='stage_interval_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook=["{{ delete_rows_of_changed_people(ref('int_lifecycle__stage_timeline'), 'is_current') }}"]
) }}

{#- Postgres types string expressions as `text` and the contract's columns as `varchar`;
    an incremental run compares the two (on_schema_change), as in fct_lead_events. #}
{%- set string_type = column_type('varchar') %}
select
    {%- for column in ['stage_interval_id', 'person_id', 'canonical_stage'] %}
    cast({{ column }} as {{ string_type }}) as {{ column }},
    {%- endfor %}
    stage_order,
    cast(stage_kind as {{ string_type }}) as stage_kind,
    cycle_number,
    stage_entry_number,
    valid_from,
    valid_to,
    is_current,
    cast({{ round_quotient(dbt.datediff('valid_from', 'coalesce(valid_to, ' ~ leadbridge_now() ~ ')', 'minute'), 60, 2) }} as numeric(18, 2)) as hours_in_stage,
    {%- for column in ['entered_by_rule', 'source_system', 'source_table', 'source_record_id', 'signal_detail', 'build_fingerprint'] %}
    cast({{ column }} as {{ string_type }}) as {{ column }},
    {%- endfor %}
    {{ built_at() }} as built_at
from {{ ref('int_lifecycle__stage_timeline') }}
{%- if is_incremental() %}
where is_current
    or person_id in ({{ rebuilt_people(ref('int_lifecycle__stage_timeline')) }})
{%- endif %}
