-- One row per local wall-clock hour of the lead contract's business calendar (time zone,
-- business days, business hours, holidays), from var('calendar_start') to 60 days after
-- now. `business_hours_before` counts business hours strictly before the hour, so the
-- business time between two instants is a difference of two lookups (see
-- int_sla__handoffs). Built from dbt.date_spine: no engine-specific calendar functions.
{{ config(materialized='table') }}

with spine as (

    {{ dbt.date_spine(
        'hour',
        "cast('" ~ var('calendar_start') ~ "' as " ~ dbt.type_timestamp() ~ ")",
        dbt.dateadd('day', 60, dbt.date_trunc('day', leadbridge_now()))
    ) }}

),

settings as (

    select
        {{ contract_rule('calendar_timezone') }} as timezone_name,
        {{ contract_rule('business_day_start_hour', dbt.type_int()) }} as start_hour,
        {{ contract_rule('business_day_end_hour', dbt.type_int()) }} as end_hour,
        '|' || {{ contract_rule('business_days') }} || '|' as business_days

),

holidays as (

    select holiday_date, holiday_name from {{ ref('lead_contract__holidays') }}

),

hours as (

    select
        cast(spine.date_hour as {{ dbt.type_timestamp() }}) as hour_start_local,
        cast(spine.date_hour as date) as local_date,
        {{ iso_day_of_week('spine.date_hour') }} as iso_day_of_week,
        {{ hour_of_day('spine.date_hour') }} as hour_of_day,
        settings.timezone_name,
        settings.start_hour,
        settings.end_hour,
        settings.business_days
    from spine
    cross join settings

),

flagged as (

    select
        hours.hour_start_local,
        {{ dbt.dateadd('hour', 1, 'hours.hour_start_local') }} as hour_end_local,
        hours.local_date,
        hours.iso_day_of_week,
        hours.hour_of_day,
        hours.timezone_name,
        holidays.holiday_name,
        holidays.holiday_date is not null as is_holiday,
        (
            hours.business_days like '%|' || cast(hours.iso_day_of_week as {{ dbt.type_string() }}) || '|%'
            and holidays.holiday_date is null
            and hours.hour_of_day >= hours.start_hour
            and hours.hour_of_day < hours.end_hour
        ) as is_business_hour
    from hours
    left join holidays on hours.local_date = holidays.holiday_date

)

select
    flagged.*,
    {{ local_to_utc('flagged.hour_start_local', 'flagged.timezone_name') }} as hour_start_utc,
    cast(coalesce(sum(case when is_business_hour then 1 else 0 end) over (
        order by hour_start_local rows between unbounded preceding and 1 preceding
    ), 0) as {{ dbt.type_int() }}) as business_hours_before
from flagged
