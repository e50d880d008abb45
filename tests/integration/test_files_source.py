"""The file-drop source: CSV, JSONL and Parquet into files.list_members, incrementally."""

import json
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.pipelines import make_pipeline, run_feed
from ingestion.sources.api import ConfigError
from ingestion.sources.files import files_source


def _load(tmp_path, drop):
    pipeline = make_pipeline("files", tmp_path / "w.duckdb", tmp_path / "pipelines")
    info = run_feed(
        "files", files_source(drop_dir=str(drop)), tmp_path / "w.duckdb", tmp_path / "pipelines"
    )
    rows = pipeline.last_trace.last_normalize_info.row_counts.get("list_members", 0)
    return info, rows


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


def test_a_file_without_an_email_column_is_refused_by_name(tmp_path, drop):
    (drop / "broken.csv").write_text("name,company\nAna,Acme\n")
    with pytest.raises(Exception, match="broken.csv: no email column"):
        _load(tmp_path, drop)


def test_a_missing_drop_folder_names_the_setting(tmp_path):
    with pytest.raises(Exception, match="SOURCES__FILES__DROP_DIR") as caught:
        _load(tmp_path, tmp_path / "nowhere")
    assert any(isinstance(e, ConfigError) for e in _chain(caught.value))


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
