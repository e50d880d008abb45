"""The dbt project as Dagster assets: one `dbt build` step for the whole warehouse.

One step on purpose: the nightly run's blocking checks sit on the raw tables, and when
one fails the whole build is skipped, so bad raw data never reaches any mart. dbt's own
tests run inside the build and surface as Dagster asset checks on the models. dbt's
source tests run in the build too (a failure fails it) but are not shown as checks on
the raw assets: when the dbt step owns checks on an asset, Dagster (1.13) no longer
makes the step wait for the blocking Great Expectations checks of that asset.
Groups follow the dbt folders: staging, intermediate, marts; contract seeds form
`lead_contract`.

Dagster needs the dbt manifest to load these definitions: `dagster dev` prepares it
(`prepare_if_dev`); `make` targets and the tests run `dbt parse` first.
"""

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from orchestration.defs.resources import Warehouse
from orchestration.paths import DBT_PROJECT_DIR

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
DBT_PROJECT.prepare_if_dev()

_LAYERS = ("staging", "intermediate", "marts")


class LayerTranslator(DagsterDbtTranslator):
    """dbt nodes grouped by layer folder; seeds are the lead contract."""

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


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    dagster_dbt_translator=TRANSLATOR,
    name="dbt_build",
)
def dbt_build(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
) -> Iterator[Any]:
    """`dbt build`: seeds, models, snapshots and tests in dependency order."""
    context.log.info(f"building the warehouse {warehouse.file}")
    yield from dbt.cli(["build"], context=context).stream()
