"""`publish_marts` on temp DuckDB files: what the serving file holds, and the swap; and the
summary's command that reads it."""

import json
import os
import random
import shutil
import stat

import duckdb
import pytest

from leadbridge.content import content_hash
from leadbridge.publication import Unpublished, publish_marts, read_publication
from orchestration.summary import RunSummary
from tests.support.try_line import run_try_line

pytestmark = pytest.mark.integration


def _warehouse(path, rows):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.dim_x (id integer, name varchar, score double)")
        con.executemany("insert into marts.dim_x values (?, ?, ?)", rows)
        con.execute("create table marts.fct_y as select range as n from range(7)")
        con.execute("create schema intermediate")
        con.execute("create table intermediate.int_z as select 1 as a")
    return path


def _hash(rows, tmp_path, name):
    with duckdb.connect(str(_warehouse(tmp_path / f"{name}.duckdb", rows))) as con:
        return content_hash(con, "marts", "dim_x")


ROWS = [(1, "a", 0.1 + 0.2), (2, None, 1.5), (3, "c", None)]


def test_the_content_hash_ignores_row_order_but_sees_every_value_and_duplicate(tmp_path):
    reference = _hash(ROWS, tmp_path, "ref")
    assert _hash(list(reversed(ROWS)), tmp_path, "reversed") == reference
    # a double that differs only past the 9th decimal is the same number here
    assert _hash([(1, "a", 0.3), *ROWS[1:]], tmp_path, "rounded") == reference
    assert _hash([(1, "b", 0.3), *ROWS[1:]], tmp_path, "changed") != reference
    assert _hash([*ROWS, ROWS[0]], tmp_path, "duplicate") != reference
    assert _hash(ROWS[:2], tmp_path, "missing") != reference


def test_publishing_swaps_a_complete_file_with_its_publication_record(tmp_path):
    warehouse = _warehouse(tmp_path / "leadbridge.duckdb", ROWS)
    target = tmp_path / "published" / "leadbridge_marts.duckdb"
    target.parent.mkdir()
    (target.parent / "leadbridge_marts.duckdb.tmp-crashed").write_text("left by a crash")
    spilled = target.parent / "leadbridge_marts.duckdb.tmp-crashed.tmp"
    spilled.mkdir()
    (spilled / "duckdb_temp_storage-0.tmp").write_text("spilled before the crash")
    publication = publish_marts(warehouse, target, "run-1")
    assert publication.rows == {"dim_x": 3, "fct_y": 7}
    assert sorted(p.name for p in target.parent.iterdir()) == ["leadbridge_marts.duckdb"]
    assert read_publication(target) == publication
    with duckdb.connect(str(target), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables order by 1, 2"
        ).fetchall()
        assert publication.hashes["dim_x"] == content_hash(con, "marts", "dim_x")
    assert tables == [("main", "_publication"), ("marts", "dim_x"), ("marts", "fct_y")]


def test_a_reader_of_the_old_file_keeps_it_while_a_new_one_is_swapped_in(tmp_path):
    warehouse = _warehouse(tmp_path / "leadbridge.duckdb", ROWS)
    target = tmp_path / "leadbridge_marts.duckdb"
    publish_marts(warehouse, target, "run-1")
    inode = target.stat().st_ino
    with duckdb.connect(str(target), read_only=True) as reader:
        with duckdb.connect(str(warehouse)) as con:
            con.execute("insert into marts.fct_y values (100)")
        publish_marts(warehouse, target, "run-2")
        assert reader.execute("select count(*) from marts.fct_y").fetchall() == [(7,)]
    assert target.stat().st_ino != inode
    assert read_publication(target).rows == {"dim_x": 3, "fct_y": 8}


def test_a_failed_publication_leaves_the_serving_file_alone(tmp_path):
    target = tmp_path / "leadbridge_marts.duckdb"
    publish_marts(_warehouse(tmp_path / "leadbridge.duckdb", ROWS), target, "run-1")
    before = (target.stat().st_ino, target.stat().st_mtime_ns, target.read_bytes())
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(RuntimeError, match="no tables in schema marts"):
        publish_marts(empty, target, "run-2")
    assert (target.stat().st_ino, target.stat().st_mtime_ns, target.read_bytes()) == before
    assert sorted(os.listdir(tmp_path)) == ["empty.duckdb", "leadbridge.duckdb", target.name]


def test_the_serving_file_is_read_only_and_is_replaced_all_the_same(tmp_path):
    warehouse = _warehouse(tmp_path / "leadbridge.duckdb", ROWS)
    target = tmp_path / "published" / "leadbridge_marts.duckdb"
    publish_marts(warehouse, target, "run-1")
    assert stat.S_IMODE(target.stat().st_mode) == 0o444
    publish_marts(warehouse, target, "run-2")  # os.replace onto the read-only file
    assert stat.S_IMODE(target.stat().st_mode) == 0o444
    assert read_publication(target).run_id == "run-2"


def test_a_stale_wal_a_reader_left_beside_the_serving_file_goes_with_the_next_swap(tmp_path):
    warehouse = _warehouse(tmp_path / "leadbridge.duckdb", ROWS)
    target = tmp_path / "published" / "leadbridge_marts.duckdb"
    publish_marts(warehouse, target, "run-1")
    # a BI session opened it read-write and left a WAL that matches no other file
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("set checkpoint_threshold = '1GB'")
        con.execute("create table t as select 1 as x")
        shutil.copyfile(f"{other}.wal", f"{target}.wal")
    publish_marts(warehouse, target, "run-2")
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    assert read_publication(target).run_id == "run-2"  # "WAL does not match" otherwise


def test_tables_and_columns_marked_not_for_publication_stay_out(tmp_path):
    warehouse = _warehouse(tmp_path / "leadbridge.duckdb", ROWS)
    hidden = Unpublished(
        tables=frozenset({("marts", "fct_y")}),
        columns={("marts", "dim_x"): frozenset({"score", "not_a_column"})},
    )
    target = tmp_path / "leadbridge_marts.duckdb"
    publication = publish_marts(warehouse, target, "run-1", hidden)
    assert publication.rows == {"dim_x": 3}
    with duckdb.connect(str(target), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall()
    assert [c for c in columns if c[0] == "marts"] == [
        ("marts", "dim_x", "id"),
        ("marts", "dim_x", "name"),
    ]


def test_publish_false_is_read_from_models_and_columns_of_the_dbt_manifest(tmp_path):
    def model(name, schema="marts", meta=None, columns=None):
        return {
            "resource_type": "model",
            "name": name,
            "alias": name,
            "schema": schema,
            "meta": {},
            "config": {"meta": meta or {}},
            "columns": {
                column: {"name": column, "meta": column_meta, "config": {"meta": column_meta}}
                for column, column_meta in (columns or {}).items()
            },
        }

    manifest = tmp_path / "manifest.json"
    nodes = [
        model("metricflow_time_spine", meta={"publish": False}),
        model("fct_lead_events", columns={"event_id": {}, "build_fingerprint": {"publish": False}}),
        model("dim_person", columns={"email_hash": {"pii": "hashed"}}),
        model("person_contacts", schema="restricted", columns={"phone": {"publish": False}}),
        {"resource_type": "test", "name": "unique_x", "meta": {"publish": False}},
    ]
    manifest.write_text(json.dumps({"nodes": {f"node.{i}": n for i, n in enumerate(nodes)}}))
    hidden = Unpublished.from_manifest(manifest)
    assert hidden.tables == {("marts", "metricflow_time_spine")}
    assert hidden.columns == {
        ("marts", "fct_lead_events"): {"build_fingerprint"},
        ("restricted", "person_contacts"): {"phone"},
    }
    assert not hidden.keeps("marts", "metricflow_time_spine") and hidden.keeps(
        "marts", "dim_person"
    )


def test_the_dbt_project_keeps_its_bookkeeping_out_of_the_publication():
    from leadbridge.publication import unpublished
    from tests.conftest import ensure_manifest

    ensure_manifest()
    hidden = unpublished()
    assert ("marts", "metricflow_time_spine") in hidden.tables
    assert "build_fingerprint" in hidden.columns[("marts", "fct_lead_events")]


def test_an_unreadable_serving_file_counts_as_no_publication(tmp_path):
    target = tmp_path / "leadbridge_marts.duckdb"
    target.write_bytes(random.Random(7).randbytes(64 * 1024))
    assert read_publication(target) is None
    # and the next publication replaces it
    publish_marts(_warehouse(tmp_path / "leadbridge.duckdb", ROWS), target, "run-1")
    assert read_publication(target).run_id == "run-1"


def test_the_summarys_try_line_runs_as_printed(tmp_path):
    warehouse = tmp_path / "it's here" / "leadbridge.duckdb"
    warehouse.parent.mkdir()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.dim_person as select * from (values "
            "('p1', 'mql'), ('p2', 'mql'), ('p3', 'sql')) as t(person_id, current_stage)"
        )
    target = warehouse.parent / "published" / "leadbridge_marts.duckdb"
    publish_marts(warehouse, target, "run-1")
    summary = RunSummary(True, 1.0, warehouse, published_file=target)
    shown = run_try_line(summary.render())
    assert shown.returncode == 0, (shown.args, shown.stderr)
    assert "current_stage" in shown.stdout and "mql" in shown.stdout
    assert [line for line in shown.stdout.splitlines() if "│ mql" in line][0].split()[-2] == "2"
