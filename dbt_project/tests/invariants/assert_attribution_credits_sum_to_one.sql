-- For each opportunity and attribution model, the credit shares sum to 1.
select opportunity_id, attribution_model, sum(credit) as total_credit
from {{ ref('fct_attribution') }}
group by opportunity_id, attribution_model
having abs(sum(credit) - 1) > 0.0001
