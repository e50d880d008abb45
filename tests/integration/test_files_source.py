"""The file-drop source: CSV, JSONL and Parquet into files.list_members, incrementally;
a malformed file is set aside whole, named, and the other files load."""

import json
import os
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.pipelines import make_pipeline, run_feed
from ingestion.sources.api import ConfigError
from ingestion.sources.files import files_source, rejected_files

pytestmark = pytest.mark.integration


def _load(tmp_path, drop):
    pipeline = make_pipeline("files", tmp_path / "w.duckdb", tmp_path / "pipelines")
    info = run_feed(
        "files", files_source(drop_dir=str(drop)), tmp_path / "w.duckdb", tmp_path / "pipelines"
    )
    rows = pipeline.last_trace.last_normalize_info.row_counts.get("list_members", 0)
    return info, rows


def _rejected(tmp_path):
    """What the last run set aside, as the ingest step reads it."""
    pipeline = make_pipeline("files", tmp_path / "w.duckdb", tmp_path / "pipelines")
    return rejected_files(pipeline, "list_members")


def _table(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        return con.sql(
            "select file_name, row_number, list_name, email, first_name, status, touched_at,"
            " booth from files.list_members order by file_name, row_number"
        ).fetchall()


@pytest.fixture
def drop(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "berlin_trade_show.csv").write_text(
        "E-Mail,First Name,Last Name,Company,Status,Date,Booth\n"
        " Ana@Example.com ,Ana,Alves,Acme,visited_booth,2026-10-01T10:00:00Z,B12\n"
        ",Bo,Berg,Beta,visited_booth,2026-10-01T11:00:00Z,B12\n"
    )
    (folder / "webinar.jsonl").write_text(
        json.dumps(
            {
                "email": "cy@example.com",
                "first_name": "Cy",
                "status": "attended",
                "list_name": "Pipeline webinar",
                "touched_at": "2026-10-02T15:00:00+0200",
            }
        )
        + "\n"
    )
    pq.write_table(
        pa.table({"email": ["di@example.com"], "firstname": ["Di"], "status": ["imported"]}),
        folder / "crm_export.parquet",
    )
    return folder


def test_all_three_formats_land_with_the_contract_columns(tmp_path, drop):
    _, rows = _load(tmp_path, drop)
    assert rows == 4
    table = _table(tmp_path)
    assert [r[:6] for r in table] == [
        (
            "berlin_trade_show.csv",
            1,
            "berlin_trade_show",
            "Ana@Example.com",
            "Ana",
            "visited_booth",
        ),
        ("berlin_trade_show.csv", 2, "berlin_trade_show", None, "Bo", "visited_booth"),
        ("crm_export.parquet", 1, "crm_export", "di@example.com", "Di", "imported"),
        ("webinar.jsonl", 1, "Pipeline webinar", "cy@example.com", "Cy", "attended"),
    ]
    # touched_at is one UTC instant whatever offset the file used; extra columns are kept
    assert table[3][6] == datetime(2026, 10, 2, 13, 0, tzinfo=UTC)
    assert table[0][7] == "B12"


def test_a_rerun_without_new_files_loads_nothing_and_duplicates_nothing(tmp_path, drop):
    _load(tmp_path, drop)
    _, rows = _load(tmp_path, drop)
    assert rows == 0
    assert len(_table(tmp_path)) == 4


def test_a_changed_file_updates_its_rows_in_place(tmp_path, drop):
    _load(tmp_path, drop)
    (drop / "webinar.jsonl").write_text(
        json.dumps(
            {
                "email": "cy@example.com",
                "first_name": "Cy",
                "status": "no_show",
                "list_name": "Pipeline webinar",
            }
        )
        + "\n"
    )
    _, rows = _load(tmp_path, drop)
    assert rows == 1
    table = _table(tmp_path)
    assert len(table) == 4
    assert [r[5] for r in table if r[0] == "webinar.jsonl"] == ["no_show"]


def test_a_missing_drop_folder_names_the_setting(tmp_path):
    with pytest.raises(Exception, match="SOURCES__FILES__DROP_DIR") as caught:
        _load(tmp_path, tmp_path / "nowhere")
    assert any(isinstance(e, ConfigError) for e in _chain(caught.value))


def test_the_default_drop_folder_is_created_and_a_configured_one_is_not(tmp_path, monkeypatch):
    """A fresh clone with only credentials set has no drop folder yet: the default one is
    created. A folder someone configured and that does not exist stays an error."""
    from ingestion.pipelines import configured_connections

    for key, value in {
        "SOURCES__HUBSPOT__ACCESS_TOKEN": "t",
        "SOURCES__SALESFORCE__ACCESS_TOKEN": "t",
        "SOURCES__SALESFORCE__INSTANCE_URL": "http://127.0.0.1:9",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SOURCES__FILES__DROP_DIR", raising=False)
    default = tmp_path / "data" / "inbox"
    files = configured_connections(default).for_feed("files")
    assert files == {"drop_dir": str(default), "create_missing": True}
    run_feed("files", files_source(**files), tmp_path / "w.duckdb", tmp_path / "pipelines")
    assert default.is_dir()

    configured = tmp_path / "typo"
    monkeypatch.setenv("SOURCES__FILES__DROP_DIR", str(configured))
    files = configured_connections(default).for_feed("files")
    assert files == {"drop_dir": str(configured), "create_missing": False}
    with pytest.raises(Exception, match="SOURCES__FILES__DROP_DIR"):
        run_feed("files", files_source(**files), tmp_path / "w.duckdb", tmp_path / "pipelines")
    assert not configured.exists()


def _chain(error):
    while error is not None:
        yield error
        error = error.__cause__ or error.__context__


def test_an_empty_drop_folder_still_creates_the_table_the_warehouse_reads(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    _load(tmp_path, empty)
    _load(tmp_path, empty)  # and a second empty run does not trip over it
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        columns = [r[0] for r in con.sql("describe files.list_members").fetchall()]
        assert con.sql("select count(*) from files.list_members").fetchall() == [(0,)]
    assert columns[:4] == ["file_name", "row_number", "list_name", "email"]


# -- malformed files: set aside whole, named, and the night goes on ---------------------------

HEADER = "E-Mail,First Name,Last Name,Company,Status,Date\n"
GOOD_ROWS = [  # the drop fixture's four rows, exactly: nothing merged, split or added
    ("berlin_trade_show.csv", 1, "berlin_trade_show", "Ana@Example.com", "Ana", "visited_booth"),
    ("berlin_trade_show.csv", 2, "berlin_trade_show", None, "Bo", "visited_booth"),
    ("crm_export.parquet", 1, "crm_export", "di@example.com", "Di", "imported"),
    ("webinar.jsonl", 1, "Pipeline webinar", "cy@example.com", "Cy", "attended"),
]
MALFORMED = {  # file → (content, where, reason)
    # an ordinary Excel "CSV" export: Windows-1252, not UTF-8
    "latin1.csv": (
        (HEADER + "jo@example.com,Jörg,Müller,Acme,visited_booth,2026-10-01\n").encode("cp1252"),
        "line 2",
        "not UTF-8 (byte 0xf6); it reads as Windows-1252/Latin-1, as an Excel 'CSV' export "
        "does: save it as UTF-8 (Excel: CSV UTF-8)",
    ),
    # company opens a quote that never closes: the csv module alone loads one row with the
    # next row inside its company
    "open_quote.csv": (
        HEADER + 'ana@example.com,Ana,Alves,"Acme,visited_booth,2026-10-01\n'
        "bo@example.com,Bo,Berg,Beta,visited_booth,2026-10-01\n",
        "line 2",
        "a quote opened here is never closed",
    ),
    # ... and one that a later quote closes, leaving the right number of fields
    "quote_closed_later.csv": (
        HEADER + 'ana@example.com,Ana,Alves,"Acme,visited_booth\n'
        'bo@example.com,Bo,Berg,Beta",visited_booth,2026-10-01\n',
        "line 2",
        "a quoted value runs on to line 3: a quote left open? "
        "(a value may not contain a line break)",
    ),
    "long_row.csv": (
        HEADER + "ana@example.com,Ana,Alves,Acme,visited_booth,2026-10-01\n"
        "bo@example.com,Bo,Berg,Beta,visited_booth,2026-10-01,B12\n",
        "line 3",
        "7 fields where the header has 6",
    ),
    "short_row.csv": (
        HEADER + "ana@example.com,Ana,Alves,Acme\n",
        "line 2",
        "4 fields where the header has 6",
    ),
    "no_email.csv": (
        "name,company\nAna,Acme\n",
        "",
        "no email column; expected one of ('email', 'e-mail', 'email address', "
        "'email_address', 'mail') (columns found: ['company', 'name'])",
    ),
    "bad_date.csv": (
        HEADER + "ana@example.com,Ana,Alves,Acme,visited_booth,2026-10-01\n"
        "bo@example.com,Bo,Berg,Beta,visited_booth,next tuesday\n",
        "row 2",
        "touched_at 'next tuesday' is not a date "
        "(write ISO 8601, e.g. 2026-10-01 or 2026-10-01T10:00:00Z)",
    ),
    "bad_line.jsonl": (
        '{"email": "ana@example.com"}\n{"email": "bo@example.com",\n',
        "line 2",
        "not valid JSON (Expecting property name enclosed in double quotes)",
    ),
    "damaged.parquet": (
        b"PAR1 not really parquet",
        "",
        "not a readable Parquet file (Parquet magic bytes not found in footer. Either the "
        "file is corrupted or this is not a parquet file.)",
    ),
}


def _drop_file(folder, name, content):
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", MALFORMED)
def test_a_malformed_file_is_set_aside_whole_with_its_reason_and_the_other_files_load(
    tmp_path, drop, name
):
    content, where, reason = MALFORMED[name]
    _drop_file(drop, name, content)

    _, rows = _load(tmp_path, drop)

    assert rows == 4
    assert [r[:6] for r in _table(tmp_path)] == GOOD_ROWS  # none of its rows, all of theirs
    moved = drop / "rejected" / name
    assert not (drop / name).exists()
    assert moved.read_bytes() == (content if isinstance(content, bytes) else content.encode())
    note = (drop / "rejected" / f"{name}.reason.txt").read_text().splitlines()
    assert note[:3] == [f"file: {name}", f"reason: {reason}", f"where: {where or 'the whole file'}"]
    assert note[3].startswith("refused at: 20")
    named = f"{where}: {reason}" if where else reason
    assert _rejected(tmp_path) == [{"file": name, "reason": named, "moved_to": str(moved)}]


def test_a_set_aside_file_is_not_read_again_and_loads_once_dropped_again_fixed(tmp_path, drop):
    content, _, _ = MALFORMED["open_quote.csv"]
    _drop_file(drop, "open_quote.csv", content)
    _load(tmp_path, drop)
    assert not (drop / "open_quote.csv").exists()
    assert [r["file"] for r in _rejected(tmp_path)] == ["open_quote.csv"]

    _, rows = _load(tmp_path, drop)
    assert (rows, _rejected(tmp_path)) == (0, [])
    assert (drop / "rejected" / "open_quote.csv").read_text() == content

    _drop_file(drop, "open_quote.csv", content.replace('"Acme', "Acme"))
    _, rows = _load(tmp_path, drop)
    assert rows == 2
    assert _rejected(tmp_path) == []
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.sql(
            "select row_number, email, company from files.list_members"
            " where file_name = 'open_quote.csv' order by row_number"
        ).fetchall() == [(1, "ana@example.com", "Acme"), (2, "bo@example.com", "Beta")]


def test_a_crash_while_setting_a_file_aside_leaves_it_in_the_drop_folder(
    tmp_path, drop, monkeypatch
):
    content, where, reason = MALFORMED["short_row.csv"]
    bad = _drop_file(drop, "short_row.csv", content)
    replace = os.replace

    def crash_on_the_move(source, target):
        if str(source) == str(bad):
            raise OSError("the machine went down")
        replace(source, target)

    monkeypatch.setattr(os, "replace", crash_on_the_move)
    with pytest.raises(Exception, match="the machine went down"):
        _load(tmp_path, drop)
    assert bad.read_text() == content
    monkeypatch.undo()

    _load(tmp_path, drop)
    assert not bad.exists()
    assert (drop / "rejected" / "short_row.csv").read_text() == content
    assert [r["reason"] for r in _rejected(tmp_path)] == [f"{where}: {reason}"]


def test_the_ingest_files_step_warns_of_each_set_aside_file_and_lists_it_in_its_metadata(
    tmp_path, drop, monkeypatch
):
    import logging
    from types import SimpleNamespace

    import dagster as dg
    from dagster_dlt import DagsterDltResource

    from ingestion.pipelines import Connections
    from orchestration.defs.ingest import INGEST_ASSETS
    from orchestration.defs.resources import Warehouse
    from tests.conftest import ensure_manifest

    ensure_manifest()
    # the warehouse resource exports the run's file to dbt's environment
    monkeypatch.setenv("LEADBRIDGE_WAREHOUSE", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("LEADBRIDGE_DLT_PROGRESS", "off")
    content, where, reason = MALFORMED["latin1.csv"]
    _drop_file(drop, "latin1.csv", content)
    ingest_files = next(a for a in INGEST_ASSETS if a.node_def.name == "ingest_files")
    instance = dg.DagsterInstance.ephemeral()

    result = dg.materialize(
        [ingest_files],
        resources={
            "dlt": DagsterDltResource(),
            "warehouse": Warehouse(path=str(tmp_path / "w.duckdb")),
            "sources": SimpleNamespace(
                mode="real", connections=Connections(files={"drop_dir": str(drop)})
            ),
        },
        instance=instance,
    )

    assert result.success
    materialization = result.asset_materializations_for_node("ingest_files")[0]
    assert materialization.asset_key == dg.AssetKey(["files", "list_members"])
    moved = str(drop / "rejected" / "latin1.csv")
    assert materialization.metadata["rejected_files"].value == [
        {"file": "latin1.csv", "reason": f"{where}: {reason}", "moved_to": moved}
    ]
    warnings = [
        e.user_message for e in instance.all_logs(result.run_id) if e.level == logging.WARNING
    ]
    assert warnings == [
        f"file latin1.csv set aside, none of its rows loaded: {where}: {reason} (moved to {moved})"
    ]


# -- the append path: new files typed once and appended, files loaded before merged -------


def _everything(warehouse):
    """Every row and column of the table but dlt's per-load ids, and the column types."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = con.sql(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'files' and table_name = 'list_members'"
            " and column_name not in ('_dlt_id', '_dlt_load_id') order by column_name"
        ).fetchall()
        names = ", ".join(f'"{name}"' for name, _ in columns)
        rows = con.sql(
            f"select {names} from files.list_members order by file_name, row_number"
        ).fetchall()
    return columns, rows


def _write_disposition(pipeline):
    return pipeline.default_schema.get_table("list_members")["write_disposition"]


@pytest.fixture
def big_drop(drop, monkeypatch):
    """The drop fixture plus a Parquet export read in batches of two rows whose columns
    differ from batch to batch (a column null throughout the first batch), as a large
    export's batches can."""
    import ingestion.sources.files as files

    monkeypatch.setattr(files, "PARQUET_BATCH_ROWS", 2)
    pq.write_table(
        pa.table(
            {
                "E-Mail": ["a@x.com", " b@x.com ", None, "d@x.com", "e@x.com"],
                "Attended At": ["2026-10-01", None, "2026-10-02T09:30:00+02:00", "", None],
                "Booth": [None, None, "C3", None, "C4"],
                "Score": [1, 2, 3, None, 5],
            }
        ),
        drop / "expo.parquet",
    )
    return drop


def test_new_files_append_the_rows_the_merge_path_loads(tmp_path, big_drop):
    """The same drops loaded twice, once appended from typed Parquet parts (a first night
    as Parquet into DuckDB) and once as rows merged on the key (dlt's row format): the
    same rows, column for column, with the same types."""
    appended = make_pipeline("files", tmp_path / "a.duckdb", tmp_path / "a")
    appended.run(files_source(drop_dir=str(big_drop)), loader_file_format="parquet")
    merged = make_pipeline("files", tmp_path / "m.duckdb", tmp_path / "m")
    merged.run(files_source(drop_dir=str(big_drop)), loader_file_format="insert_values")

    assert _write_disposition(appended) == "append"
    assert _write_disposition(merged) == "merge"
    columns, rows = _everything(tmp_path / "a.duckdb")
    assert (columns, rows) == _everything(tmp_path / "m.duckdb")
    assert len(rows) == 9
    assert ("booth", "VARCHAR") in columns and ("score", "BIGINT") in columns
    assert not (tmp_path / "a" / "leadbridge_files" / "typed_drops").exists()


def test_a_night_with_a_file_loaded_before_merges_and_duplicates_no_key(tmp_path, drop):
    _load(tmp_path, drop)
    pipeline = make_pipeline("files", tmp_path / "w.duckdb", tmp_path / "pipelines")
    assert _write_disposition(pipeline) == "append"
    (drop / "webinar.jsonl").write_text(
        json.dumps({"email": "cy@example.com", "status": "no_show"}) + "\n"
    )
    (drop / "late.csv").write_text("email,status\nel@example.com,attended\n")

    _, rows = _load(tmp_path, drop)

    assert rows == 2
    assert _write_disposition(pipeline) == "merge"
    table = _table(tmp_path)
    assert [(r[0], r[1], r[5]) for r in table if r[0] in ("late.csv", "webinar.jsonl")] == [
        ("late.csv", 1, "attended"),
        ("webinar.jsonl", 1, "no_show"),
    ]
    assert len(table) == 5 == len({(r[0], r[1]) for r in table})


def test_a_file_set_aside_after_it_loaded_merges_when_dropped_again(tmp_path, drop):
    """Setting a file aside drops it from the state, not its rows from the table: dropped
    again fixed, its keys repeat, so it merges."""
    _load(tmp_path, drop)
    _drop_file(drop, "berlin_trade_show.csv", MALFORMED["short_row.csv"][0])
    _load(tmp_path, drop)
    assert [r["file"] for r in _rejected(tmp_path)] == ["berlin_trade_show.csv"]
    _drop_file(drop, "berlin_trade_show.csv", HEADER + "zoe@example.com,Zoe,Z,Zeta,ok,\n")

    _load(tmp_path, drop)

    table = _table(tmp_path)
    assert [(r[1], r[3]) for r in table if r[0] == "berlin_trade_show.csv"] == [
        (1, "zoe@example.com"),
        (2, None),  # row 2 of the first version stays, as a changed file's rows do
    ]
    assert len(table) == 4


def test_a_crash_after_an_append_committed_appends_nothing_twice(tmp_path, drop):
    """The process dies after an append job's insert committed but before dlt marked the
    job done: the next run loads the package again, and every row is there once."""
    _load(tmp_path, drop)
    (drop / "late.csv").write_text("email,status\nel@example.com,attended\nfa@x.com,\n")
    pipeline = make_pipeline("files", tmp_path / "w.duckdb", tmp_path / "pipelines")
    pipeline.extract(files_source(drop_dir=str(drop)), loader_file_format="parquet")
    pipeline.normalize()
    (load_id,) = pipeline.list_normalized_load_packages()
    packages = pipeline._get_load_storage().normalized_packages
    (job,) = [j for j in packages.list_new_jobs(load_id) if "list_members" in j]
    started = packages.start_job(load_id, job.rsplit("/", 1)[-1])
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:  # the insert dlt committed
        con.execute(
            f"insert into files.list_members by name select * from read_parquet('{started}')"
        )
        assert con.sql("select count(*) from files.list_members").fetchall() == [(6,)]

    # the next run loads the pending package first (and extracts nothing new)
    run_feed(
        "files", files_source(drop_dir=str(drop)), tmp_path / "w.duckdb", tmp_path / "pipelines"
    )

    table = _table(tmp_path)
    assert [(r[0], r[1], r[3]) for r in table if r[0] == "late.csv"] == [
        ("late.csv", 1, "el@example.com"),
        ("late.csv", 2, "fa@x.com"),
    ]
    assert len(table) == 6


def test_the_same_file_dropped_again_with_a_new_time_changes_no_row(tmp_path, big_drop):
    _load(tmp_path, big_drop)
    before = _everything(tmp_path / "w.duckdb")
    export = big_drop / "expo.parquet"
    stat = export.stat()
    os.utime(export, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # copied in again

    _, rows = _load(tmp_path, big_drop)

    assert rows == 5
    pipeline = make_pipeline("files", tmp_path / "w.duckdb", tmp_path / "pipelines")
    assert _write_disposition(pipeline) == "merge"
    assert _everything(tmp_path / "w.duckdb") == before


@pytest.mark.parametrize("file_format", ["parquet", "insert_values"])
def test_an_extra_column_that_changes_type_breaks_the_contract_on_either_path(
    tmp_path, file_format
):
    from dlt.common.schema.exceptions import DataValidationError

    folder = tmp_path / "inbox"
    folder.mkdir()
    pipeline = make_pipeline("files", tmp_path / "w.duckdb", tmp_path / "pipelines")
    pq.write_table(pa.table({"email": ["a@x.com"], "booth": ["C3"]}), folder / "a.parquet")
    pipeline.run(files_source(drop_dir=str(folder)), loader_file_format=file_format)
    pq.write_table(pa.table({"email": ["b@x.com"], "booth": [7]}), folder / "b.parquet")

    with pytest.raises(Exception, match="booth") as caught:
        pipeline.run(files_source(drop_dir=str(folder)), loader_file_format=file_format)

    assert any(isinstance(e, DataValidationError) for e in _chain(caught.value))
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.sql("select file_name, booth from files.list_members").fetchall() == [
            ("a.parquet", "C3")
        ]


def _row_ids(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(
            "select file_name, row_number, _dlt_id from files.list_members"
            " order by file_name, row_number"
        ).fetchall()


def test_row_ids_come_from_file_and_row_and_are_the_same_on_every_load(tmp_path, big_drop):
    """`_dlt_id` is made from the file name and the row number, not drawn at random: the
    same drop loaded on either path into another warehouse gets the same ids, one per row."""
    first = make_pipeline("files", tmp_path / "a.duckdb", tmp_path / "a")
    first.run(files_source(drop_dir=str(big_drop)), loader_file_format="parquet")
    again = make_pipeline("files", tmp_path / "m.duckdb", tmp_path / "m")
    again.run(files_source(drop_dir=str(big_drop)), loader_file_format="insert_values")

    ids = _row_ids(tmp_path / "a.duckdb")
    assert ids == _row_ids(tmp_path / "m.duckdb")
    assert len(ids) == 9 == len({row_id for _, _, row_id in ids})
    expo = [row_id for name, _, row_id in ids if name == "expo.parquet"]
    assert expo[1] == expo[0][:-1] + "2"  # one prefix per file, then the row number
    assert len({row_id[:12] for _, _, row_id in ids}) == 4  # four files


def test_only_the_file_feed_inserts_without_keeping_insertion_order(tmp_path):
    """Its rows are found by key, so DuckDB may spread their insert over its threads; the
    other feeds keep DuckDB's default."""

    def setting(feed):
        pipeline = make_pipeline(feed, tmp_path / "w.duckdb", tmp_path / "pipelines")
        with pipeline.sql_client() as client:
            return client.execute_sql("select current_setting('preserve_insertion_order')")

    assert setting("files") == [(False,)]
    assert setting("hubspot") == [(True,)]
