"""The simulator's data-defect switches: what each one serves (no HTTP, no I/O)."""

from datetime import date

import pytest

from simulator import SimulatedApis, SimulatorConfig
from simulator.faults import DEFECTS

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def sim():
    return SimulatedApis(SimulatorConfig(seed=23, people=60, months=3, anchor=date(2026, 10, 31)))


@pytest.fixture(autouse=True)
def _clear(sim):
    sim.faults.clear()
    yield
    sim.faults.clear()


def _leads(sim):
    return sim.expected("salesforce.Lead", include_deleted=True)


def test_an_unknown_defect_is_refused(sim):
    with pytest.raises(ValueError, match="unknown defect"):
        sim.faults.defect("gremlins", object="Lead")


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("missing_field", "Status", None),
        ("bad_email", "Email", "not-an-email"),
        ("unknown_stage", "Status", "Parked by a robot"),
    ],
)
def test_a_defect_spoils_exactly_one_lead_and_stamps_it_modified_now(sim, kind, field, value):
    clean = {r["Id"]: r for r in _leads(sim)}
    sim.faults.defect(kind, object="Lead")
    served = {r["Id"]: r for r in _leads(sim)}
    changed = [i for i in clean if served[i][field] != clean[i][field]]
    assert len(changed) == 1 and served[changed[0]][field] == value
    assert served[changed[0]]["SystemModstamp"].startswith("2026-10-31T23:59:59")
    sim.faults.clear()
    assert {r["Id"]: r for r in _leads(sim)} == clean


def test_the_same_record_is_spoiled_and_later_touched_clean(sim):
    sim.faults.defect("future_timestamp", object="Lead")
    spoiled = [r for r in _leads(sim) if r["CreatedDate"].startswith("2027-10-31")]
    assert len(spoiled) == 1
    sim.faults.clear()
    sim.advance_days(1 / 24)
    sim.faults.touch("Lead")
    touched = next(r for r in _leads(sim) if r["Id"] == spoiled[0]["Id"])
    assert not touched["CreatedDate"].startswith("2027")
    assert touched["SystemModstamp"] > spoiled[0]["SystemModstamp"]


def test_duplicate_key_serves_one_record_twice(sim):
    sim.faults.defect("duplicate_key", object="Lead")
    ids = [r["Id"] for r in _leads(sim)]
    assert len(ids) - len(set(ids)) == 1


def test_orphan_opportunity_names_an_account_that_does_not_exist(sim):
    accounts = {r["Id"] for r in sim.expected("salesforce.Account", include_deleted=True)}
    sim.faults.defect("orphan_opportunity", object="Opportunity")
    orphans = [
        r
        for r in sim.expected("salesforce.Opportunity", include_deleted=True)
        if r["AccountId"] not in accounts
    ]
    assert len(orphans) == 1


def test_volume_drop_serves_half_and_hubspot_contacts_take_defects_too(sim):
    everyone = len(_leads(sim))
    contacts = sim.expected("hubspot.contacts")
    sim.faults.defect("volume_drop", object="Lead")
    sim.faults.defect("bad_email", object="hubspot.contacts")
    assert len(_leads(sim)) == everyone // 2
    emails = [c["properties"].get("email") for c in sim.expected("hubspot.contacts")]
    assert emails.count("not-an-email") == 1
    assert len(emails) == len(contacts)
    assert set(DEFECTS) >= {
        "duplicate_key",
        "missing_field",
        "bad_email",
        "unknown_stage",
        "future_timestamp",
        "orphan_opportunity",
        "volume_drop",
    }
