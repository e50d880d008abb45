-- One row per normalized email shared by more than one deterministic cluster, with the
-- decision: link (at most one live cluster per record type) or ambiguous (two live
-- clusters of the same record type share the email: two people, we do not guess).
-- Deleted and archived records take part but never make an email ambiguous: a record
-- deleted and created again under a new id is the same person, and its history with it.
with records as (

    select * from {{ ref('int_identity__records') }}
    where email_normalized is not null

),

clusters as (

    select * from {{ ref('int_identity__clusters_deterministic') }}

),

email_clusters as (

    select distinct
        records.email_normalized,
        records.record_type,
        records.is_removed,
        clusters.component_node as cluster_node
    from records
    inner join clusters on records.node_key = clusters.node_key

),

per_email as (

    select
        email_normalized,
        count(distinct cluster_node) as cluster_count,
        min(cluster_node) as first_cluster_node
    from email_clusters
    group by email_normalized

),

per_email_type as (

    select
        email_normalized,
        max(type_clusters) as max_clusters_per_record_type
    from (
        select
            email_normalized,
            record_type,
            count(distinct case when not is_removed then cluster_node end) as type_clusters
        from email_clusters
        group by email_normalized, record_type
    ) as counted
    group by email_normalized

)

select
    email_clusters.email_normalized,
    email_clusters.cluster_node,
    per_email.first_cluster_node,
    per_email.cluster_count,
    per_email_type.max_clusters_per_record_type > 1 as is_ambiguous
from email_clusters
inner join per_email on email_clusters.email_normalized = per_email.email_normalized
inner join per_email_type on email_clusters.email_normalized = per_email_type.email_normalized
where per_email.cluster_count > 1
group by 1, 2, 3, 4, 5
