"""leadbridge.dbt_cli: a new night reuses the last night's parse and the night still
reaches the compiled SQL; leaving the night out of the parse is sound only when nothing
dbt parses depends on it, which is not yet so."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from leadbridge.paths import DBT_EXECUTABLE, DBT_PROJECT_DIR
from tests.fixtures.raw_scenario import create_raw_scenario

pytestmark = pytest.mark.integration

MODEL = "int_sla__handoffs"  # "now" of its open SLAs is the night


def _dbt(command: list[str], target: Path, dbt_vars: dict[str, str]) -> str:
    """`command` (dbt's executable or leadbridge.dbt_cli) on the repo's project, its
    target and logs in `target`, JSON logs returned."""
    args = [
        *command,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target",
        "duckdb",
        "--vars",
        json.dumps(dbt_vars),
    ]
    env = {
        **os.environ,
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target),
        "DBT_LOG_FORMAT": "json",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    result = subprocess.run(args, capture_output=True, text=True, cwd=DBT_PROJECT_DIR, env=env)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return result.stdout


def _events(stdout: str) -> list[str]:
    return [json.loads(line)["info"]["name"] for line in stdout.splitlines() if line[:1] == "{"]


def test_a_new_night_reuses_the_last_nights_parse_and_compiles_with_its_own(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    create_raw_scenario(warehouse)
    nights = ["2026-01-20 09:00:00", "2026-01-21 09:00:00"]
    runs = []
    for n, night in enumerate(nights):
        target = tmp_path / f"night{n}"
        target.mkdir()
        if runs:  # as dagster-dbt seeds a run's folder with the last parse
            (target / "partial_parse.msgpack").write_bytes(
                (runs[-1] / "partial_parse.msgpack").read_bytes()
            )
        command = [sys.executable, "-m", "leadbridge.dbt_cli", "compile", "--select", MODEL]
        stdout = _dbt(command, target, {"leadbridge_warehouse": str(warehouse), "as_of": night})
        runs.append(target)
        # the first night has no parse to start from; the second changed only the night
        assert ("UnableToPartialParse" in _events(stdout)) == (n == 0), stdout[-3000:]
        compiled = next((target / "compiled").rglob(f"{MODEL}.sql")).read_text()
        assert night in compiled
        assert all(other not in compiled for other in nights if other != night)


def _graph(manifest: Path) -> dict[str, object]:
    """What dbt parses for each node: its parents, refs, sources, config, test arguments."""
    nodes = json.loads(manifest.read_text())["nodes"]
    return {
        uid: {
            key: node.get(key)
            for key in ("depends_on", "refs", "sources", "config", "test_metadata", "columns")
        }
        for uid, node in nodes.items()
    }


def test_nothing_dbt_parses_depends_on_the_night(tmp_path):
    graphs = []
    for n, dbt_vars in enumerate([{}, {"as_of": "2026-01-20 09:00:00"}]):
        target = tmp_path / f"parse{n}"
        _dbt([str(DBT_EXECUTABLE), "parse"], target, dbt_vars)
        graphs.append(_graph(target / "manifest.json"))
    assert len(graphs[0]) > 250
    assert graphs[0] == graphs[1]
