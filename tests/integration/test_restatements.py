"""The restatement ledger on the hand-written scenario: a late-arriving history row and an
erasure each move past KPIs, recorded with their cause; a night that changes nothing
records nothing; the ledger outlives a lost serving file; the Data trust page lists the
night's rows. Expected rows are the differences between the two publications' marts."""

from __future__ import annotations

import shutil
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from dashboard.navigation import DATA_TRUST
from leadbridge.engine import Engine
from leadbridge.erasure import erase_raw
from leadbridge.publication import Unpublished, publish_marts
from leadbridge.restatements import (
    DAY,
    ERASURE,
    KPIS_DAILY,
    LATE_HISTORY,
    LEDGER,
    LEDGER_SCHEMA,
    MONTH,
    SOURCE_DELETE,
)
from tests.fixtures.raw_scenario import L5, O8, create_raw_scenario, sfid
from tests.support.dashboard import MODELS_ONLY, app, metric, sql
from tests.support.dbt_scenario import run_dbt
from tests.support.restatements import (
    AS_OF,
    LATE_ROW,
    LEDGER_SELECT,
    assert_recorded,
    ledger_rows,
    marts_frames,
    moved,
)

pytestmark = pytest.mark.integration

DUPLICATE = sfid("00Q", 9)
# Erin's Salesforce lead gets an address of its own and she a duplicate lead with her
# HubSpot address, which links it to her. Erasing her makes all her addresses one: the
# duplicate then shares it with a second lead cluster, is ambiguous, and splits off.
ERIN_SETUP = (
    f"update salesforce.lead set email = 'e.evans@zeta.com' where id = '{L5}'",
    f"insert into salesforce.lead select * replace ('{DUPLICATE}' as id, "
    "'erin@zeta.com' as email, 'Open - Not Contacted' as status, "
    "timestamptz '2026-01-12 16:00:00+00' as created_date, "
    f"'lead-dup' as _dlt_id) from salesforce.lead where id = '{L5}'",
)


def _build(warehouse: Path) -> None:
    run_dbt(["build", *MODELS_ONLY], warehouse, warehouse.parent, as_of=AS_OF)


def _publish(warehouse: Path, target: Path, run_id: str):
    manifest = warehouse.parent / "target" / "manifest.json"
    return publish_marts(warehouse, target, run_id, Unpublished.from_manifest(manifest))


def _frames(path: Path):
    with duckdb.connect(str(path), read_only=True) as con:
        return marts_frames(lambda table: con.sql(f"select * from marts.{table}").df())


def _ledger(path: Path, run_id: str) -> dict[tuple, tuple]:
    return ledger_rows(sql(path, LEDGER_SELECT.format(schema="marts", run_id=run_id)))


@pytest.fixture(scope="module")
def night_one(tmp_path_factory: pytest.TempPathFactory):
    """The scenario (with Erin's duplicate lead) built and published as `night-1`."""
    work = tmp_path_factory.mktemp("night_one")
    warehouse = work / "warehouse.duckdb"
    create_raw_scenario(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        for statement in ERIN_SETUP:
            con.execute(statement)
    _build(warehouse)
    target = work / "published" / "leadbridge_marts.duckdb"
    _publish(warehouse, target, "night-1")
    return warehouse, target


def _copy(night: tuple[Path, Path], folder: Path) -> tuple[Path, Path]:
    """A copy of a night's warehouse (and dbt target) and serving file in `folder`."""
    warehouse, target = night
    shutil.copytree(warehouse.parent / "target", folder / "target")
    shutil.copy(warehouse, folder / "warehouse.duckdb")
    (folder / "published").mkdir()
    shutil.copy(target, folder / "published" / target.name)
    return folder / "warehouse.duckdb", folder / "published" / target.name


@pytest.fixture(scope="module")
def late(night_one, tmp_path_factory):
    """Night one's warehouse with the late row, built and published as `night-2`; and a
    copy of night one's serving file."""
    warehouse, target = _copy(night_one, tmp_path_factory.mktemp("late"))
    before = target.with_name("night-1.duckdb")
    shutil.copy(target, before)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(LATE_ROW.format("?"), [f"{time.time():.6f}"])
    _build(warehouse)
    publication = _publish(warehouse, target, "night-2")
    return warehouse, target, before, publication


def test_a_late_history_row_restates_its_past_day_and_month_as_late_history(late):
    _, target, before, publication = late
    expected = moved(_frames(before), _frames(target))
    assert (KPIS_DAILY, DAY, date(2026, 1, 14), "mqls") in expected
    assert (KPIS_DAILY, MONTH, date(2026, 1, 1), "mqls") in expected
    recorded = _ledger(target, "night-2")
    assert_recorded(recorded, expected)
    assert {cause for *_, cause in recorded.values()} == {LATE_HISTORY}
    assert len(publication.restatements) == len(recorded)
    assert publication.rows[LEDGER] == len(recorded)


def test_the_ledger_keeps_earlier_nights_and_outlives_a_lost_serving_file(late, tmp_path):
    warehouse, target = _copy(late[:2], tmp_path)
    recorded = _ledger(target, "night-2")
    assert recorded
    # the next night changes nothing: it records nothing, and keeps night two's rows
    _publish(warehouse, target, "night-3")
    assert _ledger(target, "night-3") == {} and _ledger(target, "night-2") == recorded
    # the working warehouse keeps them too, so a lost serving file does not lose them
    assert sql(warehouse, f"select count(*) from {LEDGER_SCHEMA}.{LEDGER}") == [(len(recorded),)]
    target.chmod(0o644)
    target.unlink()
    _publish(warehouse, target, "night-4")
    assert _ledger(target, "night-2") == recorded


def test_the_data_trust_page_lists_the_nights_restatements(late, monkeypatch):
    _, target, _, _ = late
    monkeypatch.setenv("LEADBRIDGE_PUBLISHED", str(target))
    monkeypatch.setenv("LEADBRIDGE_TARGET", "duckdb")
    at = app(DATA_TRUST)
    recorded = _ledger(target, "night-2")
    assert metric(at, "Past KPI values changed") == f"{len(recorded):,}"
    [shown] = [d.value for d in at.dataframe if "cause" in d.value.columns]
    rows = zip(shown["mart"], shown["grain"], shown["period"], shown["kpi"], strict=True)
    assert sorted((m, g, p.date() if hasattr(p, "date") else p, k) for m, g, p, k in rows) == (
        sorted(recorded)
    )
    assert set(shown["cause"]) == {LATE_HISTORY}


def test_an_erasure_that_splits_a_person_restates_her_past_as_erasure(night_one, tmp_path):
    warehouse, target = _copy(night_one, tmp_path)
    before = target.with_name("night-1.duckdb")
    shutil.copy(target, before)
    manifest = warehouse.parent / "target" / "manifest.json"
    erase_raw(Engine.resolve(warehouse, "duckdb"), manifest, emails=["erin@zeta.com"])
    _build(warehouse)
    _publish(warehouse, target, "night-2")
    expected = moved(_frames(before), _frames(target))
    # the duplicate lead, now a person of its own, is a new lead of 12 January
    assert (KPIS_DAILY, DAY, date(2026, 1, 12), "new_leads") in expected
    recorded = _ledger(target, "night-2")
    assert_recorded(recorded, expected)
    assert {cause for *_, cause in recorded.values()} == {ERASURE}


def test_an_opportunity_the_source_deleted_restates_its_days_as_source_delete(night_one, tmp_path):
    warehouse, target = _copy(night_one, tmp_path)
    before = target.with_name("night-1.duckdb")
    shutil.copy(target, before)
    # Gina's open opportunity comes back deleted with tonight's load
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update salesforce.opportunity set is_deleted = true, _dlt_load_id = ? where id = ?",
            [f"{time.time():.6f}", O8],
        )
    _build(warehouse)
    _publish(warehouse, target, "night-2")
    expected = moved(_frames(before), _frames(target))
    assert any(kpi == "opportunities_created" for *_, kpi in expected)
    recorded = _ledger(target, "night-2")
    assert_recorded(recorded, expected)
    assert {cause for *_, cause in recorded.values()} == {SOURCE_DELETE}


def test_a_night_that_changes_no_past_kpi_records_nothing(night_one, tmp_path):
    warehouse, target = _copy(night_one, tmp_path)
    _build(warehouse)
    publication = _publish(warehouse, target, "night-2")
    assert publication.restatements == ()
    assert sql(target, f"select count(*) from marts.{LEDGER}") == [(0,)]
    assert publication.rows[LEDGER] == 0
    # nothing to keep: the working warehouse gets no ledger schema
    schemas = sql(warehouse, "select schema_name from information_schema.schemata")
    assert (LEDGER_SCHEMA,) not in schemas


def test_a_comparison_that_fails_publishes_the_marts_and_says_restatements_are_unknown(
    late, tmp_path, monkeypatch
):
    import leadbridge.restatements as restatements

    def broken(*args, **kwargs):
        raise RuntimeError("a raw table this org lacks")

    monkeypatch.setattr(restatements, "_attributed", broken)
    warehouse, target, _, _ = late
    warehouse, target = _copy((warehouse, target), tmp_path)
    publication = _publish(warehouse, target, "night-3")
    assert publication.restatements is None
    assert publication.restatement_error == "RuntimeError: a raw table this org lacks"
    published = sql(target, "select distinct run_id from _publication")
    assert published == [("night-3",)]
    # the ledger of earlier nights still travels with the publication
    assert sql(target, f"select count(*) from marts.{LEDGER}") == sql(
        late[1], f"select count(*) from marts.{LEDGER}"
    )


def test_a_night_that_kept_the_kpi_marts_compares_no_value(night_one, tmp_path, monkeypatch):
    import leadbridge.restatements as restatements

    def compared(*args, **kwargs):
        raise AssertionError("values compared though their marts were kept")

    monkeypatch.setattr(restatements, "changed_values", compared)
    monkeypatch.setattr(restatements, "_evidence", compared)
    warehouse, target = _copy(night_one, tmp_path)
    _build(warehouse)
    publication = _publish(warehouse, target, "night-2")
    assert KPIS_DAILY not in publication.written and "fct_funnel" not in publication.written
    assert publication.restatements == () and publication.restatement_error is None
