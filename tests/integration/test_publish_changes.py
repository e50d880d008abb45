"""A publication over the last one keeps, patches or copies each table; what it serves and
records must equal a whole copy's, row for row, and a crash must leave the old file whole."""

import shutil
from datetime import UTC, datetime

import duckdb
import pytest

from leadbridge import publication as publishing
from leadbridge.content import content_hash
from leadbridge.erasure import REQUESTS_TABLE
from leadbridge.publication import publish_marts, read_publication
from leadbridge.restatements import LEDGER

pytestmark = pytest.mark.integration

# The second night's changes to the scenario's marts, one kind each.
CHANGES = (
    # a few rows edited and one duplicated, a column kept out of the publication
    # rewritten on every row: patched
    "update marts.fct_lead_events set event_detail = 'edited' "
    "where event_id = (select min(event_id) from marts.fct_lead_events)",
    "insert into marts.fct_lead_events select * from marts.fct_lead_events "
    "where event_id = (select max(event_id) from marts.fct_lead_events)",
    "update marts.fct_lead_events set build_fingerprint = 'rebuilt'",
    # every row changed: copied
    "update marts.dim_owner set owner_name = owner_name || ' (renamed)'",
    # a column of another type: copied
    "alter table marts.dim_campaign alter budgeted_cost type double",
    # a new table and a table gone
    "create table marts.mart_new as select 1 as x",
    "drop table marts.mart_lead_velocity",
)
WRITTEN = {"fct_lead_events", "dim_owner", "dim_campaign", "mart_new", LEDGER}


def _two_nights(scenario_marts, folder, rewrite):
    """Publish the scenario, then its changed copy over it; the second publication and
    the serving file."""
    warehouse, hidden = scenario_marts
    folder.mkdir()
    copy = folder / "warehouse.duckdb"
    shutil.copyfile(warehouse, copy)
    target = folder / "published" / "leadbridge_marts.duckdb"
    publish_marts(copy, target, "night-1", hidden)
    with duckdb.connect(str(copy)) as con:
        for statement in CHANGES:
            con.execute(statement)
    return publish_marts(copy, target, "night-2", hidden, rewrite=rewrite), target


def _tables(con, catalog):
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = ? order by 1, 2",
        [catalog],
    ).fetchall()


def _columns(con, catalog, schema, table):
    return con.execute(
        "select column_name, data_type from information_schema.columns where "
        "table_catalog = ? and table_schema = ? and table_name = ? order by ordinal_position",
        [catalog, schema, table],
    ).fetchall()


def test_a_publication_over_the_last_one_serves_and_records_what_a_whole_copy_does(
    scenario_marts, tmp_path
):
    changed, incremental = _two_nights(scenario_marts, tmp_path / "incremental", False)
    whole, rewritten = _two_nights(scenario_marts, tmp_path / "rewritten", True)

    assert set(changed.written) == WRITTEN
    assert changed.patched == ("fct_lead_events",)
    assert set(whole.written) == set(whole.rows) and not whole.patched
    assert (changed.rows, changed.hashes) == (whole.rows, whole.hashes)
    assert read_publication(incremental) == changed
    with duckdb.connect() as con:
        con.execute(f"attach '{incremental}' as a (read_only)")
        con.execute(f"attach '{rewritten}' as b (read_only)")
        tables = _tables(con, "a")
        assert tables == _tables(con, "b")
        assert ("marts", "mart_new") in tables and ("marts", "mart_lead_velocity") not in tables
        for schema, table in tables:
            columns = _columns(con, "a", schema, table)
            assert columns == _columns(con, "b", schema, table), table
            # the record's time is the publication's own
            shown = ", ".join(f'"{c}"' for c, _ in columns if c != "published_at")
            for one, other in (("a", "b"), ("b", "a")):
                [(extra,)] = con.execute(
                    f'select count(*) from (select {shown} from {one}."{schema}"."{table}" '
                    f'except all select {shown} from {other}."{schema}"."{table}")'
                ).fetchall()
                assert extra == 0, f"{schema}.{table}: {extra} rows only in {one}"
        for table, recorded in changed.hashes.items():
            assert content_hash(con, "marts", table, "a") == recorded, table


def test_a_publication_that_crashes_after_patching_leaves_the_serving_file_whole(
    scenario_marts, tmp_path, monkeypatch
):
    warehouse, hidden = scenario_marts
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(warehouse, copy)
    target = tmp_path / "published" / "leadbridge_marts.duckdb"
    first = publish_marts(copy, target, "night-1", hidden)
    before = target.read_bytes()
    with duckdb.connect(str(copy)) as con:
        for statement in CHANGES:
            con.execute(statement)

    def crash(*args, **kwargs):
        raise OSError("the machine went down")

    monkeypatch.setattr(publishing, "restate", crash)
    with pytest.raises(OSError, match="went down"):
        publish_marts(copy, target, "night-2", hidden)
    assert target.read_bytes() == before
    assert [p.name for p in target.parent.iterdir()] == [target.name]
    assert read_publication(target) == first
    monkeypatch.undo()
    assert set(publish_marts(copy, target, "night-2", hidden).written) == WRITTEN


def _free_share(path):
    with duckdb.connect(str(path), read_only=True) as con:
        [(total, free)] = con.execute(
            "select total_blocks, free_blocks from pragma_database_size() "
            "where database_name = current_database()"
        ).fetchall()
    return free / total


def test_a_serving_file_mostly_free_space_is_rewritten_whole(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    target = tmp_path / "published" / "leadbridge_marts.duckdb"
    everything = publishing.Unpublished()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.big as "
            "select range as n, md5(range::varchar) as s from range(300000)"
        )
        con.execute("create table marts.small as select 1 as n")
    publish_marts(warehouse, target, "night-1", everything)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create or replace table marts.big as select 1 as n")
    assert publish_marts(warehouse, target, "night-2", everything).written == ("big",)
    # the big table's blocks stay in the file, free
    assert _free_share(target) > publishing.MAX_FREE_SHARE
    size = target.stat().st_size
    third = publish_marts(warehouse, target, "night-3", everything)
    assert set(third.written) == {"big", "small"}
    assert _free_share(target) <= publishing.MAX_FREE_SHARE
    assert target.stat().st_size < size / 2
    assert publish_marts(warehouse, target, "night-4", everything).written == ()


def test_a_changed_view_of_the_working_marts_is_copied_as_a_table(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    target = tmp_path / "published" / "leadbridge_marts.duckdb"
    everything = publishing.Unpublished()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.base as select range as n from range(20)")
        con.execute("create view marts.low as select n from marts.base where n < 10")
    publish_marts(warehouse, target, "night-1", everything)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into marts.base values (-1)")
    second = publish_marts(warehouse, target, "night-2", everything)
    assert (set(second.written), second.patched) == ({"base", "low"}, ("base",))
    with duckdb.connect() as con:
        con.execute(f"attach '{warehouse}' as working (read_only)")
        con.execute(f"attach '{target}' as served (read_only)")
        for table in ("base", "low"):
            assert sorted(con.execute(f"select n from served.marts.{table}").fetchall()) == sorted(
                con.execute(f"select n from working.marts.{table}").fetchall()
            )
        assert con.execute(
            "select table_type from information_schema.tables "
            "where table_catalog = 'served' and table_name = 'low'"
        ).fetchall() == [("BASE TABLE",)]


def test_the_publication_after_an_erasure_is_a_whole_new_file(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    target = tmp_path / "published" / "leadbridge_marts.duckdb"
    everything = publishing.Unpublished()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.people as select range as id, 'Someone ' || range as note "
            "from range(1000)"
        )
        con.execute("insert into marts.people values (1000, 'Ada Lovelace, Marylebone')")
    publish_marts(warehouse, target, "night-1", everything)
    assert b"Ada Lovelace" in target.read_bytes()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update marts.people set note = 'erased' where id = 1000")
    # without a request the one row is patched, and the old row may stay in the file
    assert publish_marts(warehouse, target, "night-2", everything).patched == ("people",)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema privacy")
        con.execute(
            f"create table {REQUESTS_TABLE} (request_id varchar, requested_at timestamp, "
            "reason varchar, identifiers integer)"
        )
        now = datetime.now(UTC).replace(tzinfo=None)
        con.execute(f"insert into {REQUESTS_TABLE} values ('r1', ?, null, 1)", [now])
        con.execute("update marts.people set note = 'erased!' where id = 1000")
    third = publish_marts(warehouse, target, "night-3", everything)
    assert (third.written, third.patched) == (("people",), ())
    assert b"Ada Lovelace" not in target.read_bytes()
