"""The nightly instance's event log (orchestration/event_log.py) keeps Dagster's files and
their format: what a run writes through it, Dagster's own SQLite storage reads back, run
by run and asset by asset; `make run` uses it unless dagster.yaml chooses a storage."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml

from leadbridge.paths import REPO_ROOT
from orchestration.event_log import (
    OPEN_RUN_FILES,
    KeptOpenSqliteEventLogStorage,
    event_log_storage,
)

pytestmark = pytest.mark.integration


@dg.asset
def raw_rows() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"row_count": 3})


@dg.asset_check(asset=raw_rows, blocking=True)
def has_rows() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, metadata={"row_count": 3})


def _kept_open(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.local_temp(
        tempdir=str(home), overrides={"event_log_storage": event_log_storage(home)}
    )


def test_runs_written_with_connections_kept_open_read_back_with_dagsters_own_storage(
    tmp_path: Path,
) -> None:
    runs = OPEN_RUN_FILES + 2  # more runs than files kept open: older ones are closed
    with _kept_open(tmp_path) as instance:
        written = []
        for _ in range(runs):
            result = dg.materialize([raw_rows, has_rows], instance=instance)
            assert result.success
            written.append((result.run_id, len(instance.all_logs(result.run_id))))
        open_files = len(instance.event_log_storage._engines)

    with dg.DagsterInstance.local_temp(tempdir=str(tmp_path)) as plain:
        assert type(plain.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert [(run_id, len(plain.all_logs(run_id))) for run_id, _ in written] == written
        latest = plain.get_latest_materialization_event(dg.AssetKey("raw_rows"))
        assert latest is not None and latest.run_id == written[-1][0]
        check = plain.event_log_storage.get_latest_asset_check_execution_by_key(
            [has_rows.check_key]
        )[has_rows.check_key]
        assert check.run_id == written[-1][0]
        assert check.status.value == "SUCCEEDED"
    assert all(count > 0 for _, count in written)
    assert open_files <= OPEN_RUN_FILES + 1  # the index and the latest runs


def test_make_runs_instance_keeps_the_event_log_open_unless_its_yaml_chooses_a_storage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestration.run_nightly import dagster_instance

    demo, deployed = tmp_path / "demo", tmp_path / "deployed"
    deployed.mkdir()
    (deployed / "dagster.yaml").write_text(
        yaml.safe_dump({"storage": {"sqlite": {"base_dir": str(deployed / "elsewhere")}}})
    )
    monkeypatch.setenv("DAGSTER_HOME", str(demo))
    with dagster_instance() as instance:
        assert isinstance(instance.event_log_storage, KeptOpenSqliteEventLogStorage)
        assert Path(instance.event_log_storage._base_dir) == demo / "history" / "runs"
        assert instance.run_coordinator is not None  # the rest of dagster.yaml still applies
        assert (demo / "dagster.yaml").read_text() == (
            REPO_ROOT / "orchestration" / "dagster.yaml"
        ).read_text()
    monkeypatch.setenv("DAGSTER_HOME", str(deployed))
    with dagster_instance() as instance:
        assert not isinstance(instance.event_log_storage, KeptOpenSqliteEventLogStorage)
        assert (
            Path(instance.event_log_storage._base_dir)
            == deployed / "elsewhere" / "history" / "runs"
        )
