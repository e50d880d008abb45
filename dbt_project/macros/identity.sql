{#- Connected components of an undirected graph given as a relation/CTE with
    `node_a`, `node_b` (text). Returns one row per node with `component_node`, the
    smallest node key reachable from it. A recursive CTE on every engine.
    Identity clusters are small (a person has a handful of records), so the walk is
    cheap; `union` (not `union all`) stops it at cycles. -#}
{% macro connected_components(edges) -%}
    {{ return(adapter.dispatch('connected_components', 'leadbridge')(edges)) }}
{%- endmacro %}

{% macro default__connected_components(edges) -%}
    with recursive
    undirected as (
        {{ undirected_edges(edges) }}
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

{#- Spark's recursive CTEs take `union all` only, so the walk cannot stop at rows it has
    seen: each row carries the nodes of its path and never steps back onto one. The walk
    enumerates simple paths, few in a person's small, tree-like cluster. -#}
{% macro spark__connected_components(edges) -%}
    with recursive
    undirected as (
        {{ undirected_edges(edges) }}
    ),
    reach (src, dst, visited) as (
        select src, dst, array(src, dst) from undirected
        union all
        select reach.src, undirected.dst, array_append(reach.visited, undirected.dst)
        from reach
        inner join undirected on reach.dst = undirected.src
        where not array_contains(reach.visited, undirected.dst)
    )
    select src as node_key, min(dst) as component_node
    from reach
    group by src
{%- endmacro %}

{#- Both directions of every edge, and each node to itself. -#}
{% macro undirected_edges(edges) -%}
        select node_a as src, node_b as dst from {{ edges }}
        union
        select node_b as src, node_a as dst from {{ edges }}
        union
        select node_a as src, node_a as dst from {{ edges }}
        union
        select node_b as src, node_b as dst from {{ edges }}
{%- endmacro %}
