{#- dbt.date_spine on Spark. dbt's default numbers the periods with a window over a cross
    join of 2^k generated rows, which Spark plans and runs slowly for a series of a few
    thousand rows (the time spine, the business-hours calendar). The same periods, from
    the same number of intervals and dbt.dateadd, numbered by Spark's range() instead. -#}
{% macro spark__date_spine(datepart, start_date, end_date) %}
    select date_{{ datepart }}
    from (
        select {{ dbt.dateadd(datepart, 'id', start_date) }} as date_{{ datepart }}
        from range({{ dbt.get_intervals_between(start_date, end_date, datepart) }})
    ) as all_periods
    where date_{{ datepart }} <= {{ end_date }}
{% endmacro %}
