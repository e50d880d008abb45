{#- Column types as each engine spells them. The contracts (models' YAML), the contract
    seeds and a few models write SQL's own names (`varchar`, `double precision`), which
    DuckDB and PostgreSQL read and Spark's parser rejects: Spark's variants below map
    them to Spark's names where dbt writes a type into SQL. -#}
{% macro column_type(type) -%}
    {{ return(adapter.dispatch('column_type', 'leadbridge')(type)) }}
{%- endmacro %}

{% macro default__column_type(type) -%}
    {{ return(type) }}
{%- endmacro %}

{% macro spark__column_type(type) -%}
    {%- set name = type | lower | trim -%}
    {%- set spark_names = {
        'varchar': 'string',
        'text': 'string',
        'double precision': 'double',
    } -%}
    {{ return(spark_names.get(name, type)) }}
{%- endmacro %}

{#- dbt's cast (the contract's check of a model's columns casts null to each declared
    type, and unit tests cast their fixtures' values). -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ column_type(type) }})
{%- endmacro %}

{#- dbt-spark writes a seed's `column_types` verbatim into its DDL: the seed is handed
    over with the types in Spark's names. -#}
{% macro spark__create_csv_table(model, agate_table) -%}
    {{ return(dbt.spark__create_csv_table(with_column_types_for_spark(model), agate_table)) }}
{%- endmacro %}

{% macro with_column_types_for_spark(model) -%}
    {%- set types = {} -%}
    {%- for column, type in model['config'].get('column_types', {}).items() -%}
        {%- do types.update({column: column_type(type)}) -%}
    {%- endfor -%}
    {%- set config = dict(model['config']) -%}
    {%- do config.update({'column_types': types}) -%}
    {%- set spark_model = dict(model) -%}
    {%- do spark_model.update({'config': config}) -%}
    {{ return(spark_model) }}
{%- endmacro %}

{#- dbt-spark's session method binds a seed's values by pasting them between quotes,
    unescaped (a quote in "New Year's Day" breaks the insert, an empty cell becomes the
    text 'None'): the rows go in as escaped literals instead, cast to the seed's types. -#}
{% macro spark__load_csv_rows(model, agate_table) -%}
    {%- set column_types = with_column_types_for_spark(model)['config']['column_types'] -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for value in row -%}
                    {%- set column = agate_table.column_names[loop.index0] -%}
                    {%- set type = column_types.get(column, adapter.convert_type(agate_table, loop.index0)) -%}
                    cast({{ spark_literal(value) }} as {{ type }}){{ ", " if not loop.last }}
                {%- endfor -%}){{ "," if not loop.last }}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- do statements.append(sql) -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{%- endmacro %}

{#- A value as a Spark string literal (backslash escapes are live in Spark's literals). -#}
{% macro spark_literal(value) -%}
    {%- if value is none -%}
        null
    {%- else -%}
        '{{ (value | string) | replace("\\", "\\\\") | replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
