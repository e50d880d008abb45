{#- Connected components of an undirected graph given as a relation/CTE with
    `node_a`, `node_b` (text). Returns one row per node with `component_node`, the
    smallest node key reachable from it. Recursive CTE: runs on DuckDB and Postgres.
    Identity clusters are small (a person has a handful of records), so the walk is
    cheap; `union` (not `union all`) stops it at cycles. -#}
{% macro connected_components(edges) -%}
    with recursive
    undirected as (
        select node_a as src, node_b as dst from {{ edges }}
        union
        select node_b as src, node_a as dst from {{ edges }}
        union
        select node_a as src, node_a as dst from {{ edges }}
        union
        select node_b as src, node_b as dst from {{ edges }}
    ),
    reach (src, dst) as (
        select src, dst from undirected
        union
        select reach.src, undirected.dst
        from reach
        inner join undirected on reach.dst = undirected.src
    )
    select src as node_key, min(dst) as component_node
    from reach
    group by src
{%- endmacro %}
