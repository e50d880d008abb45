"""Source freshness: declared once, in the dbt sources YAML, and watched by Dagster.

Each dbt source table's `freshness` becomes the Dagster freshness policy of the raw asset
dlt loads into that table (the keys are the same, `[source, table]`): `warn_after` is
the policy's warning window, `error_after` its failure window. Dagster marks the asset
stale when the nightly run has not loaded it for that long, whatever the reason (a
failing feed, a stopped schedule, a held-up queue), also between runs; and
`dbt source freshness` reports the same thresholds from the same YAML.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from leadbridge.trust import source_freshness
from orchestration.defs.resources import dbt_project

# Through the dbt project, not a bare path: it prepares the manifest under `dagster dev`
# before the raw assets read their thresholds from it.
MANIFEST = dbt_project().manifest_path


def source_freshness_policies(
    manifest_path: Path = MANIFEST,
) -> dict[dg.AssetKey, dg.FreshnessPolicy]:
    """Raw asset key → the freshness policy of its dbt source table (only tables whose
    source declares an `error_after`). Empty without a manifest: loading the dbt assets
    fails with the reason then."""
    return {
        dg.AssetKey([source, table]): dg.FreshnessPolicy.time_window(
            fail_window=rule["error"],
            warn_window=rule["warn"]
            if rule["warn"] is not None and rule["warn"] < rule["error"]
            else None,
        )
        for (source, table), rule in source_freshness(manifest_path).items()
    }
