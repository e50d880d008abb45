"""The Lead history page on the scenario's publication (DuckDB): a person found by person
key or by any record id shows the whole timeline, stage intervals and identity links as
the marts hold them; activities after the publication show as scheduled; name or email
search and contact details are hidden, with the reason, on a file with no contact data."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from dashboard.navigation import LEAD_HISTORY
from leadbridge.publication import publish_marts
from tests.fixtures.raw_scenario import L1
from tests.support.dashboard import app, metric, sql

pytestmark = pytest.mark.integration


def search(text: str):
    at = app(LEAD_HISTORY)
    at.text_input[0].input(text).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def person_of(published, record_id: str) -> str:
    [(person,)] = sql(
        published,
        "select distinct person_id from marts.fct_lead_events "
        f"where source_record_id = '{record_id}'",
    )
    return person


def test_a_record_id_and_the_person_key_find_the_same_whole_history(published):
    person = person_of(published, L1)
    [(events, systems)] = sql(
        published,
        "select count(*), count(distinct source_system) from marts.fct_lead_events "
        f"where person_id = '{person}'",
    )
    [(intervals,)] = sql(
        published, f"select count(*) from marts.fct_lifecycle_stages where person_id = '{person}'"
    )
    [(links,)] = sql(
        published, f"select count(*) from marts.fct_identity_links where person_id = '{person}'"
    )
    assert systems == 2 and intervals > 0 and links > 0  # a person both systems hold
    for typed in (L1, person):
        at = search(typed)
        assert metric(at, "Events") == f"{events:,}"
        timeline, stages, joined = (frame.value for frame in at.dataframe)
        assert len(timeline) == events and set(timeline["system"]) == {"hubspot", "salesforce"}
        assert L1 in set(timeline["record id"])
        assert len(stages) == intervals and len(joined) == links
        assert f"Person key `{person}`" in " ".join(c.value for c in at.caption)


def test_name_or_email_search_and_contact_details_are_hidden_on_a_file_without_them(published):
    at = app(LEAD_HISTORY)
    assert at.text_input[0].label == "Person key or record id"
    captions = " ".join(c.value for c in at.caption)
    assert "Search by name or email is not available here" in captions
    assert at.info[0].value.startswith("Type a person key or record id")
    # an email is not a key: nothing matches, and nothing errors
    at = search("sam@leadbridge.test")
    assert [i.value for i in at.info] == ["No person matches 'sam@leadbridge.test'."]
    at = search(L1)
    assert not [s for s in at.subheader if s.value == "Contact"]
    assert "Contact details are hidden" in " ".join(c.value for c in at.caption)


def test_an_activity_dated_after_the_publication_shows_as_scheduled_not_as_past(
    scenario_marts, tmp_path, monkeypatch
):
    warehouse = tmp_path / "future.duckdb"
    shutil.copy(scenario_marts[0], warehouse)
    with duckdb.connect(str(warehouse)) as con:
        person = con.execute(
            f"select distinct person_id from marts.fct_lead_events where source_record_id = '{L1}'"
        ).fetchone()[0]
        [(event_id, events)] = con.execute(
            "select max(event_id), count(*) from marts.fct_lead_events "
            f"where person_id = '{person}'"
        ).fetchall()
        con.execute(
            "update marts.fct_lead_events set occurred_at = now()::timestamp + interval 7 day "
            f"where event_id = '{event_id}'"
        )
    target = tmp_path / "published" / "leadbridge_marts.duckdb"
    publish_marts(warehouse, target, "night-1", scenario_marts[1])
    monkeypatch.setenv("LEADBRIDGE_PUBLISHED", str(target))
    monkeypatch.setenv("LEADBRIDGE_TARGET", "duckdb")
    at = search(person)
    assert metric(at, "Events") == f"{events - 1:,}"
    assert "Scheduled (1)" in [s.value for s in at.subheader]
    assert len(at.dataframe[1].value) == 1


def test_a_person_with_events_but_no_published_profile_is_explained_not_a_traceback(
    scenario_marts, tmp_path, monkeypatch
):
    warehouse = tmp_path / "orphan.duckdb"
    shutil.copy(scenario_marts[0], warehouse)
    with duckdb.connect(str(warehouse)) as con:
        [(person,)] = con.execute(
            f"select distinct person_id from marts.fct_lead_events where source_record_id = '{L1}'"
        ).fetchall()
        con.execute(f"delete from marts.dim_person where person_id = '{person}'")
    target = tmp_path / "published" / "leadbridge_marts.duckdb"
    publish_marts(warehouse, target, "night-1", scenario_marts[1])
    monkeypatch.setenv("LEADBRIDGE_PUBLISHED", str(target))
    monkeypatch.setenv("LEADBRIDGE_TARGET", "duckdb")
    at = search(L1)
    assert [i.value for i in at.info] == [
        f"The person {person} has records but no row in the published people."
    ]
