-- One row per record node: its final identity cluster (deterministic and email links).
{{ connected_components(ref('int_identity__edges')) }}
