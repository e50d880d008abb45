-- One row per opportunity per campaign touch per attribution model: the credit share and the credited pipeline and won revenue.
{%- set models = ['first_touch', 'last_touch', 'linear', 'w_shaped'] %}
with credits as (

    select * from {{ ref('int_attribution__touch_credits') }}

),

unpivoted as (

    {%- for model in models %}
    select
        credits.*,
        '{{ model }}' as attribution_model,
        credits.{{ model }}_credit as credit
    from credits
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

)

select
    {{ surrogate_key(['opportunity_id', 'campaign_touch_id', 'attribution_model']) }} as attribution_id,
    opportunity_id,
    person_id,
    account_key,
    campaign_key,
    campaign_touch_id,
    touched_at,
    touch_type,
    touch_position,
    touches_in_window,
    is_first_touch,
    is_lead_touch,
    is_opportunity_touch,
    attribution_model,
    cast(credit as numeric(18, 6)) as credit,
    cast(credit * amount as numeric(18, 2)) as credited_pipeline_amount,
    cast(case when is_won then credit * amount else 0 end as numeric(18, 2)) as credited_won_revenue,
    is_won
from unpivoted
