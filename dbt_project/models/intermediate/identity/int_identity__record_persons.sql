-- One row per source record node (including merged-away ids that only appear in a merge
-- list): the person it belongs to. The person key is the hash of the cluster's anchor,
-- its earliest-created record (node key breaks ties), so it is stable across runs and
-- only moves when two existing people are merged.
with components as (

    select * from {{ ref('int_identity__components') }}

),

records as (

    select * from {{ ref('int_identity__records') }}

),

nodes as (

    select
        components.node_key,
        components.component_node,
        records.source_system,
        records.record_type,
        records.record_id,
        records.created_at,
        records.is_removed,
        records.node_key is not null as record_exists
    from components
    left join records on components.node_key = records.node_key

),

anchored as (

    select
        nodes.*,
        first_value(node_key) over (
            partition by component_node
            order by case when record_exists then 0 else 1 end, created_at, node_key
            rows between unbounded preceding and unbounded following
        ) as anchor_node_key
    from nodes

),

email_ambiguity as (

    select distinct components.component_node
    from {{ ref('int_identity__email_links') }} as links
    inner join components on links.cluster_node = components.node_key
    where links.is_ambiguous

)

select
    anchored.node_key,
    {{ dbt.hash('anchored.anchor_node_key') }} as person_id,
    anchored.anchor_node_key,
    coalesce(anchored.source_system, {{ dbt.split_part('anchored.node_key', "'_'", 1) }}) as source_system,
    coalesce(anchored.record_type, {{ dbt.split_part('anchored.node_key', "':'", 1) }}) as record_type,
    coalesce(anchored.record_id, {{ dbt.split_part('anchored.node_key', "':'", 2) }}) as record_id,
    anchored.created_at,
    coalesce(anchored.is_removed, true) as is_removed,
    anchored.record_exists,
    email_ambiguity.component_node is not null as has_ambiguous_email
from anchored
left join email_ambiguity on anchored.component_node = email_ambiguity.component_node
