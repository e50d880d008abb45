"""The simulated world: deterministic, filtered by time, dirty on purpose, consistent."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pytest

from simulator import SimulatorConfig, World, build_world
from simulator.faults import Faults
from simulator.schema import SALESFORCE_FIELDS
from simulator.view import LiveView

pytestmark = pytest.mark.unit

DEFAULT = SimulatorConfig(seed=42, people=500, months=6, anchor=date(2026, 10, 31))

# The default world at its initial as_of, as (visible, visible incl. archived/deleted).
# A deliberate snapshot: a change to the generator shows up here as a reviewable diff.
DEFAULT_COUNTS = {
    "hubspot.contacts": (427, 434),
    "hubspot.companies": (151, 151),
    "hubspot.owners": (12, 13),
    "hubspot.forms": (5, 5),
    "hubspot.campaigns": (10, 10),
    "hubspot.form_submissions": (889, 889),
    "hubspot.email_events": (2997, 2997),
    "salesforce.Lead": (171, 177),
    "salesforce.Contact": (51, 54),
    "salesforce.Account": (43, 43),
    "salesforce.Opportunity": (51, 51),
    "salesforce.OpportunityContactRole": (51, 51),
    "salesforce.LeadHistory": (617, 617),
    "salesforce.OpportunityHistory": (249, 249),
    "salesforce.Task": (542, 547),
    "salesforce.Event": (263, 263),
    "salesforce.User": (14, 14),
    "salesforce.Campaign": (10, 10),
    "salesforce.CampaignMember": (451, 451),
}


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(DEFAULT)


@pytest.fixture()
def view(world: World) -> LiveView:
    return LiveView(world, Faults())


def _fingerprint(world: World) -> list:
    stores = {**world.hubspot, **world.salesforce}
    out = [
        (name, rid, repr(rec.changes))
        for name, store in stores.items()
        for rid, rec in store.records.items()
    ]
    out += [repr(log.events) for log in world.submissions.values()]
    out.append(repr(world.email_events.events))
    return out


def test_same_seed_builds_identical_world_and_other_seed_differs(world: World) -> None:
    assert _fingerprint(build_world(DEFAULT)) == _fingerprint(world)
    other = build_world(SimulatorConfig(seed=7, people=500))
    assert _fingerprint(other) != _fingerprint(world)


def test_default_world_counts_match_snapshot(view: LiveView) -> None:
    counts = {
        name: (len(view.expected(name)), len(view.expected(name, include_deleted=True)))
        for name in DEFAULT_COUNTS
    }
    assert counts == DEFAULT_COUNTS


def test_nothing_is_visible_before_its_time(world: World, view: LiveView) -> None:
    as_of = view.as_of
    for store in (*world.hubspot.values(), *world.salesforce.values()):
        for row in store.snapshot(as_of):
            for stamp in (
                "lastmodifieddate",
                "hs_lastmodifieddate",
                "SystemModstamp",
                "CreatedDate",
                "createdate",
                "updatedAt",
            ):
                if row.get(stamp) is not None:
                    assert row[stamp] <= as_of, (store.name, row["_id"], stamp)
    assert all(e[0] <= as_of for e in view.email_events())


def test_advance_days_reveals_exactly_that_days_changes(world: World, view: LiveView) -> None:
    before = view.as_of  # a Saturday night: advance over Sunday into Tuesday
    old = {r["_id"]: r["lastmodifieddate"] for r in view.hubspot_rows("contacts", None)}
    after = view.advance_days(3)
    new = {r["_id"]: r["lastmodifieddate"] for r in view.hubspot_rows("contacts", None)}
    changed = {i for i, t in new.items() if old.get(i) != t}
    should = {
        rid
        for rid, rec in world.hubspot["contacts"].records.items()
        if any(before < at <= after for at, _ in rec.changes)
    }
    assert changed == should
    assert len(changed) == 37
    assert all(before < new[i] <= after for i in changed)
    leads_before = len(world.salesforce["Lead"].snapshot(before))
    leads_after = len(view.salesforce_rows("Lead", include_deleted=True))
    assert leads_after - leads_before == 2


def test_about_one_to_three_percent_of_people_are_touched_per_day(world: World) -> None:
    day = DEFAULT.initial_as_of
    touched = {
        p.index
        for p in world.people
        for r in (p.contact, p.lead, p.sf_contact, p.opportunity)
        if r is not None and any(day < at <= day + timedelta(days=1) for at, _ in r.changes)
    }
    assert len(touched) == 5  # 1% of 500: the anchor day is a Saturday


def test_email_case_and_whitespace_differ_between_systems(world: World) -> None:
    cases = world.dirt["email_case_whitespace"]
    assert len(cases) == 3
    contacts = {r["salesforceleadid"]: r for r in world.hubspot["contacts"].snapshot(DEFAULT.end)}
    for lead_id in cases:
        lead_email = world.salesforce["Lead"].records[lead_id].latest()["Email"]
        hubspot_email = contacts[lead_id]["email"]
        assert lead_email != hubspot_email
        assert lead_email.strip().lower() == hubspot_email


def test_hubspot_merges_archive_the_losers(view: LiveView) -> None:
    rows = {r["_id"]: r for r in view.hubspot_rows("contacts", None)}
    merged = {
        i: r["hs_merged_object_ids"] for i, r in rows.items() if r.get("hs_merged_object_ids")
    }
    assert len(merged) == 3
    assert sorted(len(v.split(";")) for v in merged.values()) == [1, 1, 2]
    for survivor, losers in merged.items():
        assert not rows[survivor].get("_archived")
        assert all(rows[loser]["_archived"] for loser in losers.split(";"))


def test_salesforce_merges_mark_losers_deleted_with_master(view: LiveView) -> None:
    for sobject, expected in (("Lead", 3), ("Contact", 3)):
        rows = {r["Id"]: r for r in view.salesforce_rows(sobject, include_deleted=True)}
        losers = [r for r in rows.values() if r["MasterRecordId"]]
        assert len(losers) == expected
        for loser in losers:
            assert loser["IsDeleted"] is True
            assert rows[loser["MasterRecordId"]]["IsDeleted"] is False
        visible = {r["Id"] for r in view.salesforce_rows(sobject, include_deleted=False)}
        assert not visible & {r["Id"] for r in losers}


def test_deleted_records_come_back_with_new_ids(world: World, view: LiveView) -> None:
    contacts = {r["_id"]: r for r in view.hubspot_rows("contacts", None)}
    for old, new in world.dirt["hubspot_recreated"]:
        assert contacts[old]["_archived"] and not contacts[new].get("_archived")
        assert contacts[old]["email"] == contacts[new]["email"]
        assert contacts[new]["createdate"] > contacts[old]["_archivedAt"]
    leads = {r["Id"]: r for r in view.salesforce_rows("Lead", include_deleted=True)}
    recreated = world.dirt["salesforce_lead_recreated"]
    assert len(recreated) == 3
    for old, new in recreated:
        assert leads[old]["IsDeleted"] and leads[old]["MasterRecordId"] is None
        assert leads[new]["Email"] == leads[old]["Email"]
        assert leads[new]["CreatedDate"] > leads[old]["SystemModstamp"] - timedelta(seconds=1)


def test_missing_emails_queues_and_one_system_people(world: World, view: LiveView) -> None:
    contacts = view.hubspot_rows("contacts")
    assert sum(1 for r in contacts if r["email"] is None) == 2
    leads = view.salesforce_rows("Lead", include_deleted=False)
    assert sum(1 for r in leads if r["Email"] is None) == 1
    assert sum(1 for r in leads if r["OwnerId"].startswith("00G")) == 7
    hubspot_emails = {r["email"] for r in view.hubspot_rows("contacts", None) if r["email"]}
    only_salesforce = [r for r in leads if (r["Email"] or "").strip().lower() not in hubspot_emails]
    assert len(only_salesforce) == 5  # the sixth arrives later
    only_hubspot = [r for r in contacts if r["salesforceleadid"] is None]
    assert len(only_hubspot) == 261


def test_late_history_rows_are_visible_after_their_created_date(world: World) -> None:
    late = {}
    for sobject in ("LeadHistory", "OpportunityHistory"):
        late[sobject] = sum(
            1
            for rec in world.salesforce[sobject].records.values()
            if rec.first_visible - rec.latest()["CreatedDate"] > timedelta(hours=24)
        )
    assert late == {"LeadHistory": 30, "OpportunityHistory": 12}


def test_hand_offs_include_fridays_and_weekends(view: LiveView) -> None:
    leads = view.salesforce_rows("Lead", include_deleted=False)
    late_week = [r for r in leads if r["CreatedDate"].weekday() >= 4]
    assert len(late_week) == 39


def test_first_touches_range_from_quick_to_sla_breaches(view: LiveView) -> None:
    touches = defaultdict(list)
    for sobject in ("Task", "Event"):
        for row in view.salesforce_rows(sobject, include_deleted=False):
            touches[row["WhoId"]].append(row["CreatedDate"])
    within_hour = after_four_hours = never = 0
    for lead in view.salesforce_rows("Lead", include_deleted=False):
        if not touches[lead["Id"]]:
            never += 1
            continue
        delay = min(touches[lead["Id"]]) - lead["CreatedDate"]
        within_hour += delay <= timedelta(hours=1)
        after_four_hours += delay > timedelta(hours=4)
    assert (within_hour, after_four_hours, never) == (46, 79, 27)


def test_recycled_leads_come_back_as_mqls(view: LiveView) -> None:
    history = view.salesforce_rows("LeadHistory", include_deleted=False)
    recycled = {h["LeadId"] for h in history if h["Field"] == "Status"
                and h["NewValue"] == "Nurturing"}
    returned = {h["LeadId"] for h in history if h["Field"] == "Status"
                and h["OldValue"] == "Nurturing" and h["NewValue"] == "Open - Not Contacted"}
    assert (len(recycled), len(returned)) == (28, 4)
    contacts = view.hubspot_rows("contacts")
    assert sum(1 for c in contacts if c["hs_lead_status"] == "BAD_TIMING") == 24


def test_hubspot_property_history_ends_in_the_current_value(view: LiveView) -> None:
    view.advance_days(60)  # past the world's end: every change visible
    checked = 0
    for row in view.hubspot_rows("contacts", None):
        history = view.property_history(
            row["_id"], ["lifecyclestage", "hs_lead_status", "hubspot_owner_id", "hubspotscore"]
        )
        for prop, versions in history.items():
            current = row[prop]
            if versions:
                assert versions[0]["value"] == ("" if current is None else str(current))
                stamps = [v["timestamp"] for v in versions]
                assert stamps == sorted(stamps, reverse=True)
                checked += 1
            else:
                assert current is None
    assert checked == 1420


def test_lead_history_replays_to_the_lead_state(world: World) -> None:
    rows = defaultdict(list)
    for rec in world.salesforce["LeadHistory"].records.values():
        r = rec.latest()
        rows[r["LeadId"]].append(r)
    for lead in world.salesforce["Lead"].records.values():
        state = lead.latest()
        history = sorted(rows[lead.id], key=lambda r: (r["CreatedDate"], r["Id"]))
        assert history[0]["Field"] == "created"
        for field, column in (("Status", "Status"), ("Owner", "OwnerId"), ("Rating", "Rating")):
            changes = [r for r in history if r["Field"] == field]
            initial = lead.changes[0][1][column]
            if changes:
                assert changes[0]["OldValue"] == initial
                assert changes[-1]["NewValue"] == state[column]
                for a, b in zip(changes, changes[1:], strict=False):
                    assert a["NewValue"] == b["OldValue"]
            else:
                assert state[column] == initial
        converted = any(r["Field"] == "leadConverted" for r in history)
        assert converted == state["IsConverted"]


def test_opportunity_history_replays_to_the_opportunity_state(world: World) -> None:
    rows = defaultdict(list)
    for rec in world.salesforce["OpportunityHistory"].records.values():
        r = rec.latest()
        rows[r["OpportunityId"]].append(r)
    stages = set()
    for opp in world.salesforce["Opportunity"].records.values():
        state = opp.latest()
        last = max(rows[opp.id], key=lambda r: (r["CreatedDate"], r["Id"]))
        assert (last["StageName"], last["Amount"]) == (state["StageName"], state["Amount"])
        assert state["IsClosed"] == (state["StageName"] in ("Closed Won", "Closed Lost"))
        stages.update(r["StageName"] for r in rows[opp.id])
    assert stages == {
        "Prospecting",
        "Qualification",
        "Needs Analysis",
        "Proposal/Price Quote",
        "Negotiation/Review",
        "Closed Won",
        "Closed Lost",
    }
    assert len(world.dirt["stage_regression"]) == 12


def test_converted_leads_point_at_their_contact_account_and_opportunity(view: LiveView) -> None:
    contacts = {r["Id"] for r in view.salesforce_rows("Contact", True)}
    accounts = {r["Id"] for r in view.salesforce_rows("Account", True)}
    opps = {r["Id"] for r in view.salesforce_rows("Opportunity", True)}
    converted = [r for r in view.salesforce_rows("Lead", True) if r["IsConverted"]]
    assert len(converted) == 51
    for lead in converted:
        assert lead["ConvertedContactId"] in contacts
        assert lead["ConvertedAccountId"] in accounts
        assert lead["ConvertedOpportunityId"] in opps


def test_campaign_names_match_across_systems_and_utm_is_a_slug(view: LiveView) -> None:
    hubspot = {c["properties"]["hs_name"]: c["properties"]["hs_utm"] for c in view.campaigns(None)}
    salesforce = {r["Name"] for r in view.salesforce_rows("Campaign", True)}
    assert set(hubspot) == salesforce
    assert len(salesforce) == 10
    for name, utm in hubspot.items():
        assert utm == utm.lower() and " " not in utm and utm.split("-")[0] == name[:4]
    submissions = view.expected("hubspot.form_submissions")
    with_utm = [s for s in submissions if "utm_campaign=" in s["pageUrl"]]
    assert {s["pageUrl"].split("utm_campaign=")[1] for s in with_utm} <= set(hubspot.values())
    assert len(with_utm) == 447


@pytest.mark.parametrize("people", [100, 1000])
def test_sizes_scale_with_people(people: int) -> None:
    world = build_world(SimulatorConfig(seed=42, people=people))
    assert len(world.people) == people
    only_salesforce = len(world.dirt["salesforce_only"])
    extra = sum(len(losers) for _, losers in world.dirt["hubspot_merged"]) + len(
        world.dirt["hubspot_recreated"]
    )
    assert len(world.hubspot["contacts"].records) == people - only_salesforce + extra
    leads = len(world.salesforce["Lead"].records)
    assert 0.3 * people < leads < 0.6 * people


def test_every_salesforce_object_has_its_raw_table_fields() -> None:
    needed = {
        "Lead": {"SystemModstamp", "IsDeleted", "ConvertedContactId", "MasterRecordId"},
        "Task": {"WhoId", "TaskSubtype", "CompletedDateTime"},
        "LeadHistory": {"LeadId", "Field", "OldValue", "NewValue", "CreatedById"},
        "CampaignMember": {"HasResponded", "FirstRespondedDate", "LeadId", "ContactId"},
    }
    for sobject, fields in needed.items():
        assert fields <= set(SALESFORCE_FIELDS[sobject])
