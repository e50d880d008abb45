-- Every rule of the lead contract has exactly one version in force now.
select rule_key, count(*) as versions_in_force
from {{ ref('int_lead_contract__rules') }}
group by rule_key
having sum(case when is_current then 1 else 0 end) <> 1
