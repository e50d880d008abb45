-- One row per day: the time spine MetricFlow needs for the semantic layer.
{{ config(materialized='table') }}
select cast(date_day as date) as date_day
from (
    {{ dbt.date_spine('day', "cast('2020-01-01' as date)", "cast('2031-01-01' as date)") }}
) as spine
