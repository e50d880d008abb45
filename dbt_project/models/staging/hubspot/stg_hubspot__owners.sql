-- One row per HubSpot owner (a user who can own records). Renames and casts, and the
-- primary team's name read from `teams`.
with source as (

    select * from {{ source('hubspot', 'owners') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as owner_id,
        cast(email as {{ dbt.type_string() }}) as email,
        {{ normalize_email('email') }} as email_normalized,
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        cast(user_id as {{ dbt.type_bigint() }}) as user_id,
        cast(teams as {{ dbt.type_string() }}) as teams_json,
        {{ primary_team_name('cast(teams as ' ~ dbt.type_string() ~ ')') }} as primary_team,
        cast(archived as {{ dbt.type_boolean() }}) as is_archived,
        {{ tz_to_utc('created_at') }} as created_at,
        {{ tz_to_utc('updated_at') }} as updated_at,
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
