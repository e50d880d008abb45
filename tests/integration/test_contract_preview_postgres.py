"""The contract-change preview on PostgreSQL: the proposal is built into `preview_`
schemas beside the working ones (reading the rest through dbt's `--defer`), changes the
same people as on DuckDB, leaves the working marts' content as it was and drops its
scratch schemas."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from leadbridge.content import postgres_content_hash
from leadbridge.contract import CONTRACT_DIR, RULES
from preview.run import run_preview
from tests.fixtures.raw_scenario import create_raw_scenario
from tests.support.dashboard import MODELS_ONLY
from tests.support.dbt_scenario import CAROL, ERIN, run_dbt, scenario_database
from tests.support.postgres import PostgresServer, copy_duckdb_schemas

pytestmark = pytest.mark.integration


def schemas_and_hashes(server: PostgresServer) -> tuple[list[str], dict[str, str]]:
    connection = server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("select schema_name from information_schema.schemata order by 1")
            schemas = [name for (name,) in cursor.fetchall()]
            cursor.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            )
            tables = [name for (name,) in cursor.fetchall()]
            hashes = {name: postgres_content_hash(cursor, "marts", name) for name in tables}
    finally:
        connection.close()
    return schemas, hashes


def test_a_preview_on_postgres_builds_beside_the_working_schemas_and_leaves_them(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch
):
    raw = tmp_path / "raw.duckdb"
    create_raw_scenario(raw)
    server = scenario_database(postgres_server, "contract_preview")
    copy_duckdb_schemas(raw, server, ["hubspot", "salesforce", "files"])
    for key, value in server.dbt_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LEADBRIDGE_TARGET", "postgres")
    warehouse = tmp_path / "data" / "leadbridge.duckdb"  # the local folder's anchor only
    warehouse.parent.mkdir()
    run_dbt(["build", "--target", "postgres", *MODELS_ONLY], warehouse, tmp_path)
    before = schemas_and_hashes(server)
    assert "marts" in before[0] and not [s for s in before[0] if s.startswith("preview_")]

    proposal = tmp_path / "proposal"
    shutil.copytree(CONTRACT_DIR, proposal)
    rules = proposal / RULES
    rules.write_text(
        rules.read_text().replace(
            "mql_score_threshold,2024-01-01,50,", "mql_score_threshold,2024-01-01,72,"
        )
    )
    report = run_preview(proposal, date(2026, 1, 8), warehouse=warehouse, log=print)

    # the people tests/integration/test_contract_preview.py checks by hand on DuckDB
    people = {n: {r["person_id"] for r in c["sample"]} for n, c in report.changes.items()}
    assert people == {"from": {CAROL}, "restated": {CAROL, ERIN}}
    assert schemas_and_hashes(server) == before  # no scratch schema left, marts unchanged
    assert not list(warehouse.parent.glob(".preview-*"))
