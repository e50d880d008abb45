{#- The materialization of an incremental model that replaces rows by a condition
    (`delete+insert`). Spark without Delta Lake cannot delete or merge, and its
    `insert_overwrite` replaces whole partitions: a look-back window touches every
    partition, so it would rewrite them all anyway. On Spark such a model is a table,
    rebuilt every run (the same rows an incremental run gives). -#}
{% macro incremental_or_table() -%}
    {{ return(adapter.dispatch('incremental_or_table', 'leadbridge')()) }}
{%- endmacro %}

{% macro default__incremental_or_table() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__incremental_or_table() -%}
    {{ return('table') }}
{%- endmacro %}
