"""Source freshness: declared once, in the dbt sources YAML, and watched by Dagster.

Each dbt source table's `freshness` becomes the Dagster freshness policy of the raw asset
dlt loads into that table (the keys are the same, `[source, table]`): `warn_after` is
the policy's warning window, `error_after` its failure window. Dagster marks the asset
stale when the nightly run has not loaded it for that long, whatever the reason (a
failing feed, a stopped schedule, a held-up queue), also between runs; and
`dbt source freshness` reports the same thresholds from the same YAML.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.defs.resources import dbt_project

# Through the dbt project, not a bare path: it prepares the manifest under `dagster dev`
# before the raw assets read their thresholds from it.
MANIFEST = dbt_project().manifest_path
_PERIODS = {"minute": "minutes", "hour": "hours", "day": "days"}


def _delta(threshold: dict[str, Any] | None) -> timedelta | None:
    if not threshold or not threshold.get("count") or not threshold.get("period"):
        return None
    return timedelta(**{_PERIODS[threshold["period"]]: threshold["count"]})


def source_freshness_policies(
    manifest_path: Path = MANIFEST,
) -> dict[dg.AssetKey, dg.FreshnessPolicy]:
    """Raw asset key → the freshness policy of its dbt source table (only tables whose
    source declares an `error_after`). Empty without a manifest: loading the dbt assets
    fails with the reason then."""
    if not Path(manifest_path).exists():
        return {}
    manifest = json.loads(Path(manifest_path).read_text())
    out: dict[dg.AssetKey, dg.FreshnessPolicy] = {}
    for node in manifest.get("sources", {}).values():
        freshness = node.get("freshness") or (node.get("config") or {}).get("freshness") or {}
        fail = _delta(freshness.get("error_after"))
        if fail is None:
            continue
        warn = _delta(freshness.get("warn_after"))
        out[dg.AssetKey([node["source_name"], node["name"]])] = dg.FreshnessPolicy.time_window(
            fail_window=fail, warn_window=warn if warn is not None and warn < fail else None
        )
    return out
