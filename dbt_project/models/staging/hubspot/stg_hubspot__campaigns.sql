-- One row per HubSpot marketing campaign. Renames and casts only.
with source as (

    select * from {{ source('hubspot', 'campaigns') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as campaign_id,
        cast(hs_name as {{ dbt.type_string() }}) as campaign_name,
        cast(hs_start_date as date) as start_date,
        cast(hs_end_date as date) as end_date,
        cast(hs_campaign_status as {{ dbt.type_string() }}) as campaign_status,
        cast(hs_utm as {{ dbt.type_string() }}) as utm_campaign,
        cast(hs_budget_items_sum_amount as {{ dbt.type_float() }}) as budget_amount,
        {{ tz_to_utc('created_at') }} as created_at,
        {{ tz_to_utc('updated_at') }} as updated_at,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
