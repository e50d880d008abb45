-- One row per identity link between two source records, with the rule that made it.
with edges as (

    select * from {{ ref('int_identity__edges') }}
    where link_rule <> 'record' and node_a <> node_b

),

record_persons as (

    select * from {{ ref('int_identity__record_persons') }}

)

select
    {{ surrogate_key(['edges.node_a', 'edges.node_b', 'edges.link_rule']) }} as identity_link_id,
    side_a.person_id,
    edges.link_rule,
    side_a.record_type as record_type_a,
    side_a.record_id as record_id_a,
    side_b.record_type as record_type_b,
    side_b.record_id as record_id_b,
    side_b.record_exists as record_b_exists
from edges
inner join record_persons as side_a on edges.node_a = side_a.node_key
inner join record_persons as side_b on edges.node_b = side_b.node_key
