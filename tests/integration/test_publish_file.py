"""`publish_marts` on temp DuckDB files: what the serving file holds, and the swap."""

import os

import duckdb
import pytest

from orchestration.defs.publish import content_hash, publish_marts, read_publication


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
