-- One row per record node: the cluster it belongs to under the deterministic links.
{{ connected_components(ref('int_identity__edges_deterministic')) }}
