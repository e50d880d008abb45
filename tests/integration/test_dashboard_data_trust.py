"""The Data trust page and the trust record a publication carries: the checks' verdicts,
each source table's last load (dbt source freshness's measure) and the quarantine, equal
to what the working warehouse and the check outcomes say; a publication without the
record says so instead of failing."""

from __future__ import annotations

import shutil
from datetime import datetime

import duckdb
import pytest

from dashboard.navigation import DATA_TRUST
from leadbridge.publication import publish_marts
from leadbridge.trust import (
    FAILED,
    NOT_RUN,
    PASSED,
    WARNED,
    CheckOutcome,
    source_freshness,
    trust_record,
)
from tests.support.dashboard import app, metric, sql

pytestmark = pytest.mark.integration

CHECKS = [
    CheckOutcome("marts/fct_sla", "gx_fct_sla", PASSED, True, "night-1", datetime(2026, 3, 2, 2)),
    CheckOutcome("marts/dim_person", "unique_person_id", PASSED, True, "night-1"),
    CheckOutcome("hubspot/contacts", "volume_hubspot__contacts", WARNED, False, "night-1"),
    CheckOutcome("quarantine/quarantined_rows", "quarantine_summary", NOT_RUN, False),
]


@pytest.fixture
def trusted(scenario_marts, tmp_path, monkeypatch):
    built, hidden = scenario_marts
    manifest = built.parent / "target" / "manifest.json"
    # the scenario quarantines nothing: set one malformed email aside, as dbt would
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into quarantine.quarantined_rows (source_table, source_record_id, rule, "
            "reason, offending_value, detected_at) values ('hubspot.contacts', '901', "
            "'email_format', 'email \"jane@\" is not an email address', 'jane@', now())"
        )
    target = tmp_path / "published" / "leadbridge_marts.duckdb"
    publish_marts(warehouse, target, "night-1", hidden, trust_record(warehouse, manifest, CHECKS))
    monkeypatch.setenv("LEADBRIDGE_PUBLISHED", str(target))
    monkeypatch.setenv("LEADBRIDGE_TARGET", "duckdb")
    return warehouse, manifest, target


def test_the_checks_verdicts_are_counted_and_the_ones_not_passed_listed_first(trusted):
    _, _, target = trusted
    at = app(DATA_TRUST)
    counts = dict(sql(target, "select status, count(*) from main._publication_checks group by 1"))
    assert counts == {PASSED: 2, WARNED: 1, NOT_RUN: 1}
    for status in (PASSED, WARNED, FAILED, NOT_RUN):
        assert metric(at, f"Checks {status}") == str(counts.get(status, 0))
    attention = at.dataframe[0].value
    assert attention["check"].tolist() == ["volume_hubspot__contacts", "quarantine_summary"]


def test_each_source_tables_last_load_is_dbt_source_freshness_measure(trusted):
    warehouse, manifest, target = trusted
    rules = source_freshness(manifest)
    assert len(rules) > 5  # every raw table the sources YAML gives a freshness rule
    expected = {}
    for (source, table), rule in rules.items():
        schema, name = rule["relation"]
        [(loaded,)] = sql(
            warehouse, f'select max({rule["loaded_at_field"]}) from {schema}."{name}"'
        )
        expected[f"{source}.{table}"] = None if loaded is None else loaded.replace(tzinfo=None)
    published = dict(
        sql(target, "select source_table, last_loaded_at from main._publication_sources")
    )
    assert published == expected
    at = app(DATA_TRUST)
    shown = at.dataframe[2].value
    assert set(shown["source_table"]) == set(expected)
    # the scenario was loaded long ago: every table with a rule is past its error window
    assert set(shown["freshness"]) == {"stale"}
    newest = max(v for k, v in expected.items() if k.startswith("hubspot."))
    assert metric(at, "hubspot last loaded (UTC)") == f"{newest:%Y-%m-%d %H:%M}"


def test_the_quarantine_is_counted_by_table_and_rule_without_the_offending_values(trusted):
    warehouse, _, target = trusted
    expected = sql(
        warehouse,
        "select source_table, rule, count(*) from quarantine.quarantined_rows group by 1, 2",
    )
    assert expected
    published = sql(
        target, "select source_table, rule, row_count from main._publication_quarantine"
    )
    assert sorted(published) == sorted(expected)
    columns = {
        c
        for (c,) in sql(
            target,
            "select column_name from information_schema.columns "
            "where table_name = '_publication_quarantine'",
        )
    }
    assert "reason" not in columns and "offending_value" not in columns
    at = app(DATA_TRUST)
    assert metric(at, "Rows quarantined") == f"{sum(n for *_, n in expected):,}"
    shown = at.dataframe[-2].value
    assert shown["example record"].tolist() == ["901"] and "jane@" not in shown.to_csv()


def test_a_publication_without_a_trust_record_says_so(published):
    at = app(DATA_TRUST)
    assert any("carries no record of its checks" in i.value for i in at.info)
    assert metric(at, "Run") == "night-1"
