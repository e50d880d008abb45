"""Write–audit–publish: the nightly job publishes the marts for BI, atomically, or not at all.

Three nights share one warehouse (module-scoped, in order): the first publishes; the
second is the same night again, run while a reader in another process keeps opening
the published file; the third meets corrupted raw data and must leave the published
file exactly as it was.

"The same night" is the run config's `as_of` for `dbt_build` (the marts' notion of now:
open SLAs, hours in the current stage, the KPI calendar's last day), as a scheduled run
takes it from its tick; without it two runs a minute apart legitimately differ in
`fct_sla.evaluated_at` and `fct_lifecycle_stages.hours_in_stage`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

import duckdb
import pytest

from orchestration.defs.publish import (
    MART_KEYS,
    PUBLICATION_TABLE,
    content_hash,
    read_publication,
)
from orchestration.summary import summarize

DEMO = {"demo_people": 60, "demo_months": 3}
AS_OF = "2026-11-01 02:00:00"
RUN_CONFIG = {
    "resources": {"sources": {"config": DEMO}},
    "ops": {"dbt_build": {"config": {"as_of": AS_OF}}},
}
MIN_READS = 20

# Runs in a separate process: opens the published file read-only in a loop until the
# stop file appears, checks every read against its own `_publication`, reports as JSON.
READER = r"""
import json, os, sys, time
import duckdb

path, ready, stop, out = sys.argv[1:5]
reads, errors, run_ids = 0, [], []
while not os.path.exists(stop):
    try:
        with duckdb.connect(path, read_only=True) as con:
            publication = con.execute(
                "select run_id, table_name, row_count from main._publication"
            ).fetchall()
            tables = {r[0] for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts'"
            ).fetchall()}
            counts = {
                t: con.execute(f'select count(*) from marts."{t}"').fetchall()[0][0]
                for t in tables
            }
        ids = {r[0] for r in publication}
        expected = {r[1]: r[2] for r in publication}
        if len(ids) != 1 or not expected or counts != expected:
            errors.append(f"inconsistent read: ids {ids}, {expected} vs {counts}")
        else:
            run_ids.append(ids.pop())
        reads += 1
    except Exception as error:
        errors.append(f"{type(error).__name__}: {error}")
    if reads == 1 and not os.path.exists(ready):
        open(ready, "w").close()
    time.sleep(0.25)  # leave the CPU to the run
with open(out, "w") as handle:
    json.dump({"reads": reads, "errors": errors[:20], "error_count": len(errors),
               "run_ids": run_ids}, handle)
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    path = tmp_path_factory.mktemp("publish")
    (path / "dagster_home").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.startswith(("SOURCES__", "DESTINATION__")):
                patch.delenv(key)
        patch.setenv("LEADBRIDGE_WAREHOUSE", str(path / "leadbridge.duckdb"))
        patch.setenv("LEADBRIDGE_PUBLISHED", str(path / "bi" / "leadbridge_marts.duckdb"))
        patch.setenv("DAGSTER_HOME", str(path / "dagster_home"))
        patch.setenv("LEADBRIDGE_DLT_PROGRESS", "off")
        yield path


def _run(definitions, home):
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        result = definitions.resolve_job_def("nightly").execute_in_process(
            run_config=RUN_CONFIG, instance=instance, raise_on_error=False
        )
    return result, summarize(result, home / "leadbridge.duckdb", 0)


def _published(home):
    return home / "bi" / "leadbridge_marts.duckdb"


def _tables(con, catalog):
    return sorted(
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = ? and table_schema = 'marts'",
            [catalog],
        ).fetchall()
    )


def _differing_rows(con, left, right, table):
    """Rows of `left.marts.table` and `right.marts.table` that the other lacks (multiset)."""
    a, b = f'{left}.marts."{table}"', f'{right}.marts."{table}"'
    return con.execute(
        f"select (select count(*) from (select * from {a} except all select * from {b})) "
        f"+ (select count(*) from (select * from {b} except all select * from {a}))"
    ).fetchall()[0][0]


def _fingerprint(path):
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, stat.st_size, hashlib.sha256(path.read_bytes()).digest()


@pytest.fixture(scope="module")
def first_night(definitions, home):
    return _run(definitions, home)


@pytest.fixture(scope="module")
def second_night(first_night, definitions, home):
    """The same night again, while another process keeps reading the published file."""
    copy = home / "first_publication.duckdb"
    shutil.copyfile(_published(home), copy)
    ready, stop, out = home / "reader.ready", home / "reader.stop", home / "reader.json"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(_published(home)), str(ready), str(stop), str(out)]
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert reader.poll() is None, "the reader died before its first read"
            assert time.monotonic() < deadline, "the reader never read the published file"
            time.sleep(0.05)
        result, summary = _run(definitions, home)
        time.sleep(0.5)  # a few reads of the new publication
    finally:
        stop.touch()
        reader.wait(timeout=60)
    return result, summary, copy, json.loads(out.read_text())


def test_the_published_file_holds_exactly_the_working_marts(first_night, home):
    result, summary = first_night
    assert result.success, summary.render()
    published = _published(home)
    with duckdb.connect(str(published), read_only=True) as con:
        con.execute(f"attach '{home / 'leadbridge.duckdb'}' as working (read_only)")
        working_tables = _tables(con, "working")
        published_tables = _tables(con, "leadbridge_marts")
        # every dbt model of group `marts` is a table there, and nothing else is
        assert working_tables == sorted(key.path[-1] for key in MART_KEYS)
        assert published_tables == working_tables
        for table in working_tables:
            assert _differing_rows(con, "leadbridge_marts", "working", table) == 0, table
        working_hashes = {t: content_hash(con, "marts", t, "working") for t in working_tables}
        working_rows = {
            t: con.execute(f'select count(*) from working.marts."{t}"').fetchall()[0][0]
            for t in working_tables
        }
        distinct_ids = con.execute(
            f"select count(distinct run_id) from main.{PUBLICATION_TABLE}"
        ).fetchall()[0][0]
    publication = read_publication(published)
    assert publication.run_id == result.run_id and distinct_ids == 1
    assert publication.rows == working_rows
    assert working_rows["dim_person"] == working_rows["fct_funnel"] > 0
    assert publication.hashes == working_hashes
    # the file was swapped in whole: no temp file, no WAL left beside it
    assert sorted(p.name for p in published.parent.iterdir()) == ["leadbridge_marts.duckdb"]
    assert summary.published is not None and summary.published["tables"] == len(MART_KEYS)
    total = sum(working_rows.values())
    assert f"Published: {published} ({len(MART_KEYS)} tables, {total} rows" in summary.render()


def test_a_second_run_of_the_same_night_publishes_identical_marts(second_night, home):
    result, summary, first_copy, _ = second_night
    assert result.success, summary.render()
    first, second = read_publication(first_copy), read_publication(_published(home))
    assert first.run_id != second.run_id == result.run_id
    assert second.hashes == first.hashes and len(second.hashes) == len(MART_KEYS)
    assert second.rows == first.rows
    with duckdb.connect(str(_published(home)), read_only=True) as con:
        con.execute(f"attach '{first_copy}' as first (read_only)")
        assert _tables(con, "first") == _tables(con, "leadbridge_marts")
        differing = {
            t: _differing_rows(con, "first", "leadbridge_marts", t) for t in _tables(con, "first")
        }
    assert differing == dict.fromkeys(differing, 0)


def test_a_reader_never_sees_an_error_or_a_half_published_file_during_a_run(
    first_night, second_night
):
    result, _, _, report = second_night
    assert report["error_count"] == 0, report["errors"]
    assert report["reads"] >= MIN_READS
    assert len(report["run_ids"]) == report["reads"]
    # the swap happened while it read: first the old publication, then the new one
    old, new = first_night[0].run_id, result.run_id
    seen = report["run_ids"]
    swapped_at = seen.index(new)
    assert swapped_at > 0 and set(seen[:swapped_at]) == {old} and set(seen[swapped_at:]) == {new}


def test_a_failed_night_leaves_the_published_marts_untouched_and_says_so(
    second_night, definitions, home
):
    published = _published(home)
    before = _fingerprint(published)
    with duckdb.connect(str(home / "leadbridge.duckdb")) as con:
        con.execute("insert into salesforce.lead select * from salesforce.lead limit 1")
    result, summary = _run(definitions, home)
    assert not result.success
    assert [name for name, _ in summary.checks_failed] == ["salesforce/lead:gx_salesforce__lead"]
    started = [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"]
    assert "dbt_build" not in started and "published__marts" not in started
    assert _fingerprint(published) == before
    assert read_publication(published).run_id == second_night[0].run_id
    assert summary.published is None
    assert (
        f"NOT published: yesterday's marts at {published} stay in place "
        f"(published {read_publication(published).published_at:%Y-%m-%d %H:%M} UTC "
        f"by run {second_night[0].run_id})"
    ) in summary.render()
