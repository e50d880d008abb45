-- One row per identity link between two source records with its rule: the
-- deterministic links plus unambiguous normalized-email links.
with deterministic as (

    select node_a, node_b, link_rule from {{ ref('int_identity__edges_deterministic') }}

),

email_links as (

    select
        first_cluster_node as node_a,
        cluster_node as node_b,
        'email_normalized' as link_rule
    from {{ ref('int_identity__email_links') }}
    where not is_ambiguous
        and cluster_node <> first_cluster_node

)

select * from deterministic
union all
select * from email_links
