{#- The business-hour position of a local wall-clock instant: business hours before its
    hour plus the elapsed part of that hour if it is a business hour. `calendar` is an
    int_calendar__business_hours row joined on the instant's hour. The business time
    between two instants is the difference of their positions. -#}
{% macro business_hours_position(calendar, local_expression) -%}
    (
        {{ calendar }}.business_hours_before
        + case
            when {{ calendar }}.is_business_hour
                then {{ dbt.datediff(calendar ~ '.hour_start_local', local_expression, 'second') }} / 3600.0
            else 0
        end
    )
{%- endmacro %}
