"""`make erase` on a small warehouse file: a request that matches no record is refused
without a rebuild, and drop files that hold the address are named either way."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leadbridge.drop_files import drop_folders, files_holding
from leadbridge.erasure import email_hash
from orchestration import erase as erase_command
from tests.conftest import ensure_manifest

pytestmark = pytest.mark.integration


@pytest.fixture()
def home(tmp_path: Path, monkeypatch) -> Path:
    """A warehouse holding one file-drop list with Jane and Bob, and a drop folder."""
    ensure_manifest()
    warehouse = tmp_path / "data" / "leadbridge.duckdb"
    warehouse.parent.mkdir()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema files")
        con.execute(
            "create table files.list_members as select * from (values "
            "('fair.csv', 1, 'jane@example.com', 'Jane', 'Doe', 'CTO'), "
            "('fair.csv', 2, 'bob@example.com', 'Bob', 'Roe', 'CEO')) "
            "t(file_name, row_number, email, first_name, last_name, job_title)"
        )
    (tmp_path / "inbox").mkdir()
    monkeypatch.setenv("LEADBRIDGE_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("SOURCES__FILES__DROP_DIR", str(tmp_path / "inbox"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the erase command started a rebuild")

    monkeypatch.setattr(erase_command, "rebuild", no_rebuild)
    return tmp_path


def _schemas(home: Path) -> set[str]:
    with duckdb.connect(str(home / "data" / "leadbridge.duckdb"), read_only=True) as con:
        return {
            row[0] for row in con.execute("select schema_name from duckdb_schemas()").fetchall()
        }


def test_an_address_that_matches_no_record_is_refused_without_recording_or_rebuilding(
    home: Path, capsys
) -> None:
    inbox = home / "inbox"
    (inbox / "webinar.csv").write_text("Email Address,name\nNobody@Example.com ,Nob\n")
    (inbox / "fair.jsonl").write_text('{"mail": "bob@example.com"}\n')
    assert erase_command.main(["--email", "nobody@example.com"]) == 3
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "erasure refused: no record matched email nobody@example.com; nothing erased, "
        "nothing rebuilt",
        "these drop files hold the address, and no erasure request covers it when a night "
        "loads them: remove it there, or erase again after that night",
        f"  {inbox / 'webinar.csv'}",
    ]
    assert "privacy" not in _schemas(home)  # no request recorded


def test_a_matched_erasure_warns_of_drop_files_still_holding_the_address(
    home: Path, capsys
) -> None:
    inbox = home / "inbox"
    (inbox / "fair.csv").write_text("email,notes\nbob@example.com,met JANE@example.com.\n")
    pq.write_table(pa.table({"E-Mail": [" jane@example.com"]}), inbox / "import.parquet")
    (inbox / "other.csv").write_text("email\nbob@example.com\n")
    assert erase_command.main(["--email", "jane@example.com", "--no-rebuild"]) == 0
    out, err = capsys.readouterr()
    assert "1 raw rows pseudonymized" in out
    assert err.splitlines() == [
        "warning: these drop files still hold the person's address; the erasure does not "
        "edit them (a night that reads one again pseudonymizes it on load): remove it there",
        f"  {inbox / 'fair.csv'}",
        f"  {inbox / 'import.parquet'}",
    ]


def test_the_drop_folders_are_the_configured_one_and_the_inbox_beside_the_warehouse(
    home: Path, monkeypatch
) -> None:
    assert drop_folders() == [home / "inbox", home / "data" / "inbox"]
    monkeypatch.delenv("SOURCES__FILES__DROP_DIR")
    assert drop_folders() == [home / "data" / "inbox"]


def test_a_drop_file_that_cannot_be_read_is_named_to_check_by_hand(home: Path) -> None:
    (home / "inbox" / "broken.parquet").write_bytes(b"not parquet")
    found = files_holding([home / "inbox"], {email_hash("jane@example.com")})
    assert [(f.path.name, bool(f.unreadable)) for f in found] == [("broken.parquet", True)]
    assert "could not be read, check it by hand" in str(found[0])


def test_a_drop_file_set_aside_as_malformed_is_still_listed(home: Path) -> None:
    """A file the night refused sits in `rejected/` with the person's address at rest."""
    rejected = home / "inbox" / "rejected"
    rejected.mkdir(parents=True)
    (rejected / "expo.csv").write_text("email,company\njane@example.com,\"Acme\n")
    (rejected / "expo.csv.reason.txt").write_text("unterminated quote: jane@example.com")
    found = files_holding([home / "inbox"], {email_hash("jane@example.com")})
    assert [str(f) for f in found] == [str(rejected / "expo.csv")]
