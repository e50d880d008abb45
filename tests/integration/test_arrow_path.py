"""The Arrow path of the API connectors lands what the row path landed, and on top of it.

The row path is the connectors as they were: each page as `coerce`d dicts through dlt's
JSON normalizer (JSONL). It is rebuilt here by swapping `Table.arrow` for exactly that,
so both paths read the same simulator with the same connector code.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
from dlt.common.schema.exceptions import DataValidationError

from ingestion.pipelines import FEEDS, make_pipeline
from ingestion.sources.hubspot import hubspot_source
from ingestion.sources.hubspot.settings import CONTACTS
from ingestion.sources.records import Table, normalize
from ingestion.sources.salesforce import salesforce_source
from ingestion.sources.salesforce.settings import OBJECTS
from simulator import SimulatedApis, SimulatorConfig
from tests.support.hubspot_tasks import create_tasks

pytestmark = pytest.mark.integration

CONFIG = SimulatorConfig(seed=11, people=200, months=3, anchor=date(2026, 10, 31))
DLT_COLUMNS = ("_dlt_load_id", "_dlt_id")
KEYS = {
    "contact_property_history": "contact_id, property, timestamp",
    "form_submissions": "conversion_id",
}


@pytest.fixture(scope="module")
def sim(sim):
    """The module's simulator (conftest) with custom fields discovered at run time: they
    must land on both paths."""
    sim.faults.new_column("contacts")
    sim.faults.new_column("Lead")
    create_tasks(sim)  # the row path's JSONL cannot merge an empty table
    return sim


@pytest.fixture
def row_path(monkeypatch):
    """The connectors as they were: pages of coerced dicts, loaded as JSONL."""

    def as_dicts(self: Table, rows: list[dict[str, Any]], **_: Any) -> list[dict[str, Any]]:
        return [self.coerce(dict(row)) for row in rows]

    monkeypatch.setattr(Table, "arrow", as_dicts)
    return "jsonl"


def _source(feed: str, sim: SimulatedApis):
    if feed == "hubspot":
        return hubspot_source(base_url=sim.hubspot_base_url, access_token=sim.token)
    # REST pages, as the row path read them (Bulk API 2.0 reads: test_salesforce_bulk.py)
    return salesforce_source(
        instance_url=sim.salesforce_instance_url, access_token=sim.token, bulk_api=False
    )


def _load(feed: str, sim: SimulatedApis, home: Path, file_format: str, name: str = "") -> None:
    pipeline = make_pipeline(feed, home / "w.duckdb", home / "pipelines")
    if name:  # another pipeline on the same dataset: no cursor state, every record again
        pipeline = dlt.pipeline(
            pipeline_name=name,
            pipelines_dir=str(home / "pipelines"),
            destination=dlt.destinations.duckdb(str(home / "w.duckdb")),
            dataset_name=feed,
        )
    pipeline.run(_source(feed, sim), loader_file_format=file_format)


def _tables(home: Path) -> dict[str, str]:
    with duckdb.connect(str(home / "w.duckdb"), read_only=True) as con:
        rows = con.sql(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema in ('hubspot', 'salesforce') and table_name not like '_dlt%'"
        ).fetchall()
    return {f"{schema}.{table}": table for schema, table in rows}


def _columns(home: Path, table: str) -> list[tuple[str, str, str]]:
    with duckdb.connect(str(home / "w.duckdb"), read_only=True) as con:
        return [(r[0], r[1], r[2]) for r in con.sql(f"describe {table}").fetchall()]


def _rows(home: Path, table: str, key: str) -> list[tuple]:
    with duckdb.connect(str(home / "w.duckdb"), read_only=True) as con:
        names = [c[0] for c in con.sql(f"describe {table}").fetchall() if c[0] not in DLT_COLUMNS]
        columns = ", ".join(f'"{n}"' for n in sorted(names))
        return con.sql(f"select {columns} from {table} order by {key}").fetchall()


def _both(sim: SimulatedApis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    arrow_home, row_home = tmp_path / "arrow", tmp_path / "rows"
    for feed in ("hubspot", "salesforce"):
        _load(feed, sim, arrow_home, FEEDS[feed].loader_file_format)
    with monkeypatch.context() as patch:
        patch.setattr(Table, "arrow", lambda self, rows, **_: [self.coerce(dict(r)) for r in rows])
        for feed in ("hubspot", "salesforce"):
            _load(feed, sim, row_home, "jsonl")
    return arrow_home, row_home


def test_the_arrow_path_lands_the_same_tables_columns_types_and_rows_as_the_row_path(
    sim, tmp_path, monkeypatch
):
    assert FEEDS["hubspot"].loader_file_format == "parquet"
    arrow_home, row_home = _both(sim, tmp_path, monkeypatch)
    tables = _tables(row_home)
    assert _tables(arrow_home) == tables
    assert len(tables) == 9 + len(OBJECTS)
    for table, name in sorted(tables.items()):
        # same names, types and nullability, in the same order
        assert _columns(arrow_home, table) == _columns(row_home, table), table
        key = KEYS.get(name, "id")
        arrow_rows, row_rows = _rows(arrow_home, table, key), _rows(row_home, table, key)
        assert arrow_rows, table
        assert arrow_rows == row_rows, table
    # the custom fields discovered at run time are columns on both paths
    for table, declared in (("hubspot.contacts", CONTACTS), ("salesforce.lead", OBJECTS["Lead"])):
        hinted = {normalize(c) for c in declared.column_hints()} | set(DLT_COLUMNS)
        custom = {c[0] for c in _columns(arrow_home, table)} - hinted
        assert len(custom) == 1, custom
    with duckdb.connect(str(arrow_home / "w.duckdb"), read_only=True) as con:
        # dlt's bookkeeping columns are filled and unique, as the row path fills them
        for table in tables:
            nulls, dupes = con.sql(
                f"select count(*) filter (where _dlt_load_id is null or _dlt_id is null),"
                f" count(*) - count(distinct _dlt_id) from {table}"
            ).fetchall()[0]
            assert (nulls, dupes) == (0, 0), table


def test_a_warehouse_loaded_by_the_row_path_takes_arrow_loads_merged_without_duplicates(
    sim, tmp_path, row_path, monkeypatch
):
    for feed in ("hubspot", "salesforce"):
        _load(feed, sim, tmp_path, row_path)
    before = {t: _columns(tmp_path, t) for t in _tables(tmp_path)}
    monkeypatch.undo()  # the Arrow path from here on

    # every record again through Arrow (a pipeline without cursor state), merged on its key
    for feed in ("hubspot", "salesforce"):
        _load(feed, sim, tmp_path, "parquet", name=f"arrow_again_{feed}")
    assert {t: _columns(tmp_path, t) for t in _tables(tmp_path)} == before
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        for table, name in _tables(tmp_path).items():
            key = KEYS.get(name, "id")
            total, distinct = con.sql(
                f"select count(*), count(distinct ({key})) from {table}"
            ).fetchall()[0]
            assert total == distinct, table
        # the big tables were really rewritten by the Arrow load
        loads = con.sql("select count(distinct _dlt_load_id) from salesforce.lead").fetchall()[0][0]
    assert loads == 1 and _rows_of_last_load(tmp_path, "salesforce.lead") > 0
    assert len(_rows(tmp_path, "hubspot.contacts", "id")) == len(
        sim.expected("hubspot.contacts", include_deleted=True)
    )


def _rows_of_last_load(home: Path, table: str) -> int:
    with duckdb.connect(str(home / "w.duckdb"), read_only=True) as con:
        return con.sql(
            f"select count(*) from {table} where _dlt_load_id ="
            f" (select max(load_id) from {table.split('.')[0]}._dlt_loads)"
        ).fetchall()[0][0]


def test_an_incremental_arrow_run_after_a_row_path_run_loads_only_the_day_and_dedups_the_boundary(
    tmp_path, row_path, monkeypatch
):
    with SimulatedApis.start(CONFIG) as sim:
        create_tasks(sim)
        for feed in ("hubspot", "salesforce"):
            _load(feed, sim, tmp_path, row_path)
        monkeypatch.undo()
        sim.advance_days(1)
        for feed in ("hubspot", "salesforce"):
            _load(feed, sim, tmp_path, "parquet")
        for feed in ("hubspot", "salesforce"):  # nothing new: boundary rows are dropped
            _load(feed, sim, tmp_path, "parquet")
        pipeline = make_pipeline("salesforce", tmp_path / "w.duckdb", tmp_path / "pipelines")
        again = dict(pipeline.last_trace.last_normalize_info.row_counts)
        assert {t: n for t, n in again.items() if n and not t.startswith("_dlt")} in (
            {},
            {"lead_history": again.get("lead_history")},  # its look-back re-reads, merged
        )
        hubspot = make_pipeline("hubspot", tmp_path / "w.duckdb", tmp_path / "pipelines")
        assert {
            t: n
            for t, n in hubspot.last_trace.last_normalize_info.row_counts.items()
            if n and not t.startswith("_dlt")
        } == {}
        for sobject, table in OBJECTS.items():
            expected = sim.expected(f"salesforce.{sobject}", include_deleted=True)
            assert len(_rows(tmp_path, f"salesforce.{table.name}", "id")) == len(expected)
        assert len(_rows(tmp_path, "hubspot.contacts", "id")) == len(
            sim.expected("hubspot.contacts", include_deleted=True)
        )
        assert len(_rows(tmp_path, "hubspot.email_events", "id")) == len(
            sim.expected("hubspot.email_events")
        )


def _chain(error: BaseException | None):
    while error is not None:
        yield error
        error = error.__cause__ or error.__context__


def test_a_wrong_typed_hubspot_value_is_refused_naming_table_column_and_record(tmp_path):
    with SimulatedApis.start(CONFIG) as sim:
        sim.faults.malformed_record("contacts")
        with pytest.raises(Exception) as failed:
            _load("hubspot", sim, tmp_path, "parquet")
        bad = [
            c["id"]
            for c in sim.expected("hubspot.contacts")
            if c["properties"].get("hubspotscore") == "abc"
        ]
    message = str(failed.value)
    assert "contacts" in message and "hubspotscore" in message and "data_type" in message
    assert bad and bad[0] in message
    # dlt's own contract error, which the orchestration treats as permanent (no retries)
    assert any(isinstance(e, DataValidationError) for e in _chain(failed.value))
    # refused while extracting: nothing landed, not even a variant column
    assert not (tmp_path / "w.duckdb").exists() or not _tables(tmp_path)
