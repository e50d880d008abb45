"""The dbt project on Spark: every node builds and every mart equals the DuckDB build.

The hand-written raw scenario (tests/fixtures/raw_scenario.py) is created in DuckDB and
copied, same columns and types, into Spark tables of the raw databases; dbt builds it
with the `spark` target (local Spark inside this process, tests/support/spark.py) as
of the same night as the DuckDB build of `scenario_marts`. Skipped, with the reason, only
where Spark cannot start (no Java).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.raw_scenario import create_raw_scenario
from tests.support.dbt_scenario import dbt_arguments
from tests.support.rows import (
    MART_COLUMNS_SQL,
    columns_by_table,
    select_columns,
    table_differences,
)
from tests.support.spark import (
    SparkUnavailable,
    copy_duckdb_schemas_to_spark,
    run_dbt_in_process,
    spark_env,
    spark_session,
)
from tests.support.warehouse import duckdb_query

pytestmark = pytest.mark.integration

RAW_SCHEMAS = ["hubspot", "salesforce", "files"]
BUILT_SCHEMAS = ["marts", "restricted"]


@dataclass(frozen=True)
class SparkBuild:
    """The scenario built by dbt on Spark: the session it ran in and dbt's target folder."""

    session: Any
    target: Path

    def results(self) -> dict[str, str]:
        """unique_id → status of every node the build ran."""
        results = json.loads((self.target / "run_results.json").read_text())["results"]
        return {result["unique_id"]: result["status"] for result in results}

    def rows(self, table: str, columns: list[str]) -> list[tuple]:
        """`columns` of `table`; timestamps as UTC instants (Arrow keeps the session's
        time zone, where collect() would use this process's)."""
        frame = self.session.table(table).select(*columns)
        return [tuple(row.values()) for row in frame.toArrow().to_pylist()]

    def columns(self) -> dict[str, list[str]]:
        """`schema.table` → its columns in order, for the built schemas."""
        return {
            f"{schema}.{table.name}": self.session.table(f"{schema}.{table.name}").columns
            for schema in BUILT_SCHEMAS
            for table in self.session.catalog.listTables(schema)
        }


@pytest.fixture(scope="module")
def spark_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkBuild]:
    work = tmp_path_factory.mktemp("dbt_spark")
    raw = work / "raw.duckdb"
    create_raw_scenario(raw)
    with pytest.MonkeyPatch.context() as patch, contextlib.ExitStack() as stack:
        for key, value in spark_env(work / "spark").items():
            patch.setenv(key, value)
        try:
            session = stack.enter_context(spark_session(dict(os.environ)))
        except SparkUnavailable as error:
            pytest.skip(f"Spark cannot start here: {error}")
        started = time.monotonic()
        copy_duckdb_schemas_to_spark(raw, session, RAW_SCHEMAS, work / "raw")
        loaded = time.monotonic()
        run_dbt_in_process(dbt_arguments(["build", "--target", "spark"], work))
        print(f"raw tables {loaded - started:.1f} s, dbt build {time.monotonic() - loaded:.1f} s")
        yield SparkBuild(session, work / "target")


def test_every_node_builds_on_spark(spark_build):
    """Every seed, model, data test and unit test of the project ran and passed."""
    manifest = json.loads((spark_build.target / "manifest.json").read_text())
    kinds = {"seed", "model", "test", "snapshot"}
    nodes = {key for key, node in manifest["nodes"].items() if node["resource_type"] in kinds}
    # the on-run-start hook runs too (it creates the access roles, on PostgreSQL only)
    results = {
        key: status
        for key, status in spark_build.results().items()
        if not key.startswith("operation.")
    }
    assert set(results) == nodes | set(manifest["unit_tests"])
    assert len(results) > 250
    assert set(results.values()) <= {"success", "pass"}


def test_every_mart_and_restricted_table_has_the_same_rows_on_spark_and_duckdb(
    spark_build, scenario_marts
):
    duckdb_path, _ = scenario_marts
    spark_columns = spark_build.columns()
    assert spark_columns == columns_by_table(duckdb_query(duckdb_path, MART_COLUMNS_SQL))
    assert len([table for table in spark_columns if table.startswith("marts.")]) >= 15
    assert len([table for table in spark_columns if table.startswith("restricted.")]) >= 3
    differences = table_differences(
        spark_columns,
        spark_build.rows,
        lambda table, columns: duckdb_query(duckdb_path, select_columns(table, columns)),
        "spark",
    )
    assert differences == {}
