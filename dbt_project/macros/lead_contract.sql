{#- Reading the lead contract. Models never type a threshold or a stage name: they ask
    the contract through these macros. -#}

{#- The value of a rule in force now (as of leadbridge_now()), cast to `type`. -#}
{% macro contract_rule(rule_key, type=none) -%}
    {%- set value_type = type or dbt.type_string() -%}
    (
        select {{ dbt.safe_cast('rule_value', value_type) }}
        from {{ ref('int_lead_contract__rules') }}
        where rule_key = '{{ rule_key }}' and is_current
    )
{%- endmacro %}

{#- A boolean rule in force now. -#}
{% macro contract_flag(rule_key) -%}
    (
        select lower(trim(rule_value)) = 'true'
        from {{ ref('int_lead_contract__rules') }}
        where rule_key = '{{ rule_key }}' and is_current
    )
{%- endmacro %}

{#- Join condition for a rule version in force at `at_expression`
    (alias is the int_lead_contract__rules relation's alias). -#}
{% macro contract_rule_in_force(alias, rule_key, at_expression) -%}
    {{ alias }}.rule_key = '{{ rule_key }}'
    and {{ alias }}.valid_from <= {{ at_expression }}
    and {{ at_expression }} < {{ alias }}.valid_to
{%- endmacro %}

{#- The join condition of a source value to the lead contract's stage mapping: matched
    case- and whitespace-insensitively. Arguments are SQL expressions. -#}
{% macro stage_mapping_matches(alias, system_expression, field_expression, value_expression) -%}
    {{ alias }}.source_system = {{ system_expression }}
    and {{ alias }}.source_field = {{ field_expression }}
    and {{ alias }}.source_value_key = lower(trim({{ value_expression }}))
{%- endmacro %}
