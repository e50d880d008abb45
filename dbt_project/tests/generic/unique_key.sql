{#- A key column: dbt's `unique` and `not_null` in one query and one test node, since
    each node costs the nightly build far more than scanning the column again. It returns
    each duplicated value and the null key (with their rows); it counts as failures what
    the two tests counted together, the duplicated values and the null rows. -#}
{% test unique_key(model, column_name) %}
{{ config(fail_calc="coalesce(sum(case when key_value is null then key_rows else 1 end), 0)") }}
select
    {{ column_name }} as key_value,
    count(*) as key_rows
from {{ model }}
group by {{ column_name }}
having count(*) > 1 or {{ column_name }} is null
{% endtest %}
