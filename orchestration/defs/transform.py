"""The dbt project as Dagster assets: one `dbt build` step for the whole warehouse.

One step, so a failing blocking check on a raw table skips the whole build. dbt's tests
surface as asset checks on the models; its source tests run in the build but are not
shown as checks on the raw assets: a dbt step owning checks on an asset keeps Dagster
(1.13) from waiting for that asset's blocking Great Expectations checks. Groups follow
the dbt folders; seeds form `lead_contract`. A run with an `as_of` builds only when its
inputs differ from those of the publication in place (leadbridge/inputs.py); config
`rebuild: true` forces it. Loading needs the dbt manifest (`dbt parse`).
"""

import os
import shutil
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from leadbridge import contract
from leadbridge.engine import target_name
from leadbridge.inputs import INPUTS_TAG, UNCHANGED_TAG, build_inputs
from leadbridge.memory import release_memory
from leadbridge.publication import publication_in_place
from leadbridge.settings import Settings, tests_every_row
from orchestration.defs.resources import Warehouse, dbt_project
from orchestration.summary import PUBLISHED_KEY as PUBLISHED_PATH

DBT_PROJECT = dbt_project()
# The publication whose inputs a build compares with its own (materialized by
# orchestration/defs/publish.py, which records them as `INPUTS_METADATA`).
PUBLISHED_KEY = dg.AssetKey(list(PUBLISHED_PATH))
INPUTS_METADATA = "inputs"

# dbt's saved parse (dagster-dbt copies it from `target/` into each run's folder).
PARTIAL_PARSE = "partial_parse.msgpack"
KEEP_TARGET_FOLDERS = 10

_LAYERS = ("staging", "intermediate", "marts", "restricted", "activation")


class LayerTranslator(DagsterDbtTranslator):
    """dbt nodes grouped by layer folder; seeds are the lead contract; kinds name the
    engine of `LEADBRIDGE_TARGET`, not the adapter the manifest was parsed with."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        """The spec dagster-dbt builds, with the engine in use as its kind."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        kinds = {"dbt", target_name()} | ({"view"} & spec.kinds)
        return spec.replace_attributes(kinds=kinds)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """The asset group of one dbt node."""
        if dbt_resource_props["resource_type"] == "seed":
            return "lead_contract"
        fqn = dbt_resource_props.get("fqn", [])
        layer = next((part for part in fqn if part in _LAYERS), None)
        return layer or "intermediate"


TRANSLATOR = LayerTranslator(
    settings=DagsterDbtTranslatorSettings(
        enable_asset_checks=True,
        enable_source_tests_as_checks=False,  # see module docstring
    )
)


SCHEDULED_TIME_TAG = "dagster/scheduled_execution_time"


class NightConfig(dg.Config):
    """Which night the marts describe: their "now" (open SLAs, hours in stage, KPI days)."""

    as_of: str | None = None  # ISO timestamp; default: the schedule's tick, else now
    # Build even when the inputs are those of the publication in place (see below).
    rebuild: bool = False
    # dbt's data tests on every row of the incremental models; Sunday nights always do
    # (leadbridge.settings.tests_every_row)
    full_tests: bool = False
    # Rebuild the incremental models from nothing (dbt --full-refresh): after an upgrade
    # that changes their columns, or rows edited before their look-back window.
    full_refresh: bool = False


def night_of(config: NightConfig, tags: Mapping[str, str]) -> str | None:
    """The run's `as_of` in UTC (`YYYY-MM-DD HH:MM:SS`), or None to mean "now".

    A scheduled run is the night of its tick, so re-running that night (a re-execution
    keeps the tick) rebuilds identical marts; an ad-hoc run describes the moment it runs.
    """
    raw = config.as_of or tags.get(SCHEDULED_TIME_TAG)
    if not raw:
        return None
    moment = datetime.fromisoformat(raw)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    dagster_dbt_translator=TRANSLATOR,
    name="dbt_build",
)
def dbt_build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: Warehouse,
    config: NightConfig,
) -> Iterator[Any]:
    """`dbt build`: seeds, models, snapshots and data tests in dependency order."""
    as_of = night_of(config, context.run.tags)
    # dbt would cast a mistyped rule value to NULL and build with that rule switched off
    broken_contract = contract.failure_message(as_of)
    if broken_contract:
        raise dg.Failure(description=broken_contract)
    # dbt's unit tests check the models' logic on fixed inputs, not the night's data: they
    # run in `make test` (tests/integration/test_dbt_scenario.py), not in every nightly
    # run (dbt recommends the same).
    engine = warehouse.engine
    # dbt is told the target and the warehouse file outright (Warehouse.dbt_arguments)
    args = ["build", "--exclude-resource-type", "unit_test"]
    if config.full_refresh:
        args.append("--full-refresh")
    dbt_vars = {
        "followup_sla_share": str(Settings.from_env().followup_sla_share),
        # other nights test the rows they rebuilt (dbt_project/macros/incremental.sql)
        "full_tests": config.full_tests
        or tests_every_row(datetime.fromisoformat(as_of) if as_of else datetime.now(UTC)),
    }
    args += warehouse.dbt_arguments({**dbt_vars, **({"as_of": as_of} if as_of else {})})
    if as_of:
        # The night's inputs (leadbridge/inputs.py): when BI tools already read marts
        # built from exactly these, a build would write the same rows again. Nothing is
        # materialized then, so Dagster skips the mart checks and the publication too.
        inputs = build_inputs(engine, as_of)
        context.instance.add_run_tags(context.run.run_id, {INPUTS_TAG: inputs})
        since = (
            None
            if config.rebuild or config.full_refresh
            else unchanged_publication(context.instance, warehouse, inputs)
        )
        if since:
            context.instance.add_run_tags(context.run.run_id, {UNCHANGED_TAG: since})
            context.log.info(
                f"inputs unchanged since run {since} (raw tables, erasures, dbt project, "
                f"suites, as_of {as_of}): its published marts stay; nothing to build "
                "(run config `rebuild: true` builds anyway)"
            )
            return
    context.log.info(
        f"building the warehouse ({engine.name} {engine.location}) as of {as_of or 'now'}"
    )
    prune_target_folders(DBT_PROJECT.project_dir / "target")
    # dbt's process peaks beside this one: this one should not hold what earlier steps freed
    release_memory()
    invocation = dbt.cli(args, context=context)
    try:
        yield from invocation.stream()
    finally:
        keep_parse(invocation.target_path, DBT_PROJECT.project_dir / "target")


def keep_parse(run_target: Path, target: Path) -> None:
    """Make the parse of this run's dbt the one the next run starts from: dagster-dbt
    gives every run its own target folder, seeded with `target/partial_parse.msgpack`
    (which `make manifest` writes too). dbt reuses a parse made with the same vars,
    profile and target (a re-run of the night), parsing again only the files changed."""
    parse = run_target / PARTIAL_PARSE
    if parse.exists():
        # replaced in one step: a run starting meanwhile copies the old or the new file
        staged = target / f".{PARTIAL_PARSE}.{os.getpid()}"
        shutil.copyfile(parse, staged)
        os.replace(staged, target / PARTIAL_PARSE)


def prune_target_folders(target: Path, keep: int = KEEP_TARGET_FOLDERS) -> list[Path]:
    """Delete the target folders of all but the `keep` latest dbt builds (their
    run_results.json and dbt.log are what one reads after a night), and none younger than
    a day, which may be a build running now; returns those deleted."""
    folders = sorted(target.glob("dbt_build-*"), key=_modified, reverse=True)
    day_ago = time.time() - 24 * 3600
    old = [f for f in folders[keep:] if _modified(f) < day_ago]
    for folder in old:
        shutil.rmtree(folder, ignore_errors=True)
    return old


def _modified(path: Path) -> float:
    """When `path` last changed; 0 when another process deleted it meanwhile."""
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def unchanged_publication(
    instance: dg.DagsterInstance, warehouse: Warehouse, inputs: str
) -> str | None:
    """The run id of the publication BI tools read when it was built from `inputs`
    (leadbridge/inputs.py), else None: its materialization recorded them, and the
    file or schema in place is still the one that run published."""
    event = instance.get_latest_materialization_event(PUBLISHED_KEY)
    if event is None or event.asset_materialization is None:
        return None
    recorded = event.asset_materialization.metadata.get(INPUTS_METADATA)
    if recorded is None or recorded.value != inputs:
        return None
    in_place = publication_in_place(
        warehouse.engine, warehouse.published_file, dg.get_dagster_logger()
    )
    if in_place is None or in_place.run_id != event.run_id:
        return None
    return event.run_id
