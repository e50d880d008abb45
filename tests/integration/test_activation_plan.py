"""The activation plan on the hand-written scenario: what it creates, updates and closes
against the ledger, and what it refuses (activation/plan.py, docs/activation.md).

The scenario's one open hand-off (Erin's second) has used 1 of its 8 SLA hours at AS_OF,
so its activation models are rebuilt with a share of 0.1 to give it a follow-up task.
Expectations come from SQL on the marts, never from the plan itself.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from activation import ledger
from activation.apply import apply, current
from activation.ledger import OK, WriteResult
from activation.plan import CLOSED_STATUS, KEY_FIELDS, Night, Plan, plan
from activation.writers import Batch
from ingestion.sources.limits import ApiUsage
from leadbridge.engine import Engine
from leadbridge.erasure import Identifiers, record_request
from leadbridge.publication import Unpublished, publish_marts
from leadbridge.settings import Settings
from tests.support.dashboard import MODELS_ONLY
from tests.support.dbt_scenario import run_dbt

pytestmark = pytest.mark.integration

SHARE = 0.1
ACTIVATION = "path:models/activation"


@dataclass
class Scenario:
    """One test's warehouse copy, its publication, and the manifest of its build."""

    warehouse: Path
    published: Path
    work: Path
    hidden: Unpublished

    @property
    def engine(self) -> Engine:
        return Engine("duckdb", self.warehouse)

    def night(self, run_id: str | None = "night-1") -> Night:
        return Night(run_id, self.published, self.work / "target" / "manifest.json")

    def plan(self, run_id: str | None = "night-1", **settings: str) -> Plan:
        return plan(self.engine, Settings.from_env(settings), self.night(run_id))

    def sql(self, statement: str) -> list[tuple]:
        with duckdb.connect(str(self.warehouse)) as con:
            return con.execute(statement).fetchall()

    def rebuild(self, run_id: str, *models: str) -> None:
        """Build `models` and the activation models again and publish the marts as
        `run_id`."""
        share = {"followup_sla_share": SHARE}
        selection = ["--select", *models, ACTIVATION, *MODELS_ONLY]
        run_dbt(["build", *selection], self.warehouse, self.work, dbt_vars=share)
        publish_marts(self.warehouse, self.published, run_id, self.hidden)


@pytest.fixture(scope="module")
def prepared(scenario_marts, tmp_path_factory) -> Scenario:
    """The scenario with its activation models built at SHARE, published as night-1."""
    warehouse, hidden = scenario_marts
    work = tmp_path_factory.mktemp("activation")
    copy = work / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    night = Scenario(copy, work / "published" / "leadbridge_marts.duckdb", work, hidden)
    night.rebuild("night-1")
    return night


@pytest.fixture
def night(prepared, tmp_path) -> Scenario:
    """A copy of the prepared night for one test."""
    shutil.copy(prepared.warehouse, tmp_path / "warehouse.duckdb")
    (tmp_path / "published").mkdir()
    shutil.copy(prepared.published, tmp_path / "published" / "leadbridge_marts.duckdb")
    shutil.copytree(prepared.work / "target", tmp_path / "target")
    return Scenario(
        tmp_path / "warehouse.duckdb",
        tmp_path / "published" / "leadbridge_marts.duckdb",
        tmp_path,
        prepared.hidden,
    )


def due_handoffs(night: Scenario) -> dict[str, str]:
    """handoff id → the record a follow-up task is about: the hand-offs waiting in
    mart_handoff_queue (which hand-offs wait is its rule) past SHARE of their SLA hours."""
    rows = night.sql(
        f"""select q.handoff_id,
            coalesce(p.salesforce_contact_id, p.salesforce_lead_id, p.hubspot_contact_id)
        from marts.mart_handoff_queue as q
        inner join marts.fct_sla as s on q.handoff_id = s.handoff_id
        inner join marts.dim_person as p on q.person_id = p.person_id
        where s.sla_status = 'breached' or s.business_hours_elapsed >= {SHARE} * s.sla_hours"""
    )
    return dict(rows)


def status_records(night: Scenario) -> set[str]:
    """Every record the shared status goes to: dim_person's ids, less converted leads."""
    rows = night.sql(
        """select hubspot_contact_id from marts.dim_person where hubspot_contact_id is not null
        union all select salesforce_contact_id from marts.dim_person
            where salesforce_contact_id is not null
        union all select salesforce_lead_id from marts.dim_person
            where salesforce_lead_id is not null and salesforce_lead_id not in (
                select record_id_a from marts.fct_identity_links
                where link_rule = 'salesforce_lead_converted')"""
    )
    return {row[0] for row in rows}


def task_record(item) -> str:
    return item.fields.get("WhoId") or dict(item.associations)["contacts"]


def apply_as_ok(night: Scenario, planned: Plan, run_id: str = "night-1") -> dict[str, str]:
    """What a writer would do on success: pending first, then ok with the CRM's ids;
    activation key → CRM id."""
    ledger.record(night.engine, run_id, planned.holds())
    ledger.record_pending(night.engine, planned.items, run_id)
    ids = {
        item.activation_key: item.record_id or f"00T{n:015d}"
        for n, item in enumerate(planned.items)
    }
    results = [
        WriteResult(item.activation_key, item.system, OK, ids[item.activation_key], "200")
        for item in planned.items
    ]
    assert ledger.record_results(night.engine, results) == len(results)
    return ids


def test_a_first_plan_creates_a_task_for_each_due_handoff_and_the_status_of_every_record(night):
    due = due_handoffs(night)
    assert due, "the scenario has a hand-off due for a follow-up at this share"
    first = night.plan()
    assert first.aborted is None
    creates = [i for i in first.items if i.action == "create"]
    assert sorted(task_record(i) for i in creates) == sorted(due.values())
    assert {i.object for i in creates} <= {"Task", "tasks"}
    for item in creates:
        assert item.external_id == item.activation_key == item.fields[KEY_FIELDS[item.system]]
    statuses = [i for i in first.items if i.object in ("Lead", "Contact", "contacts")]
    assert sorted(i.record_id for i in statuses) == sorted(status_records(night))
    assert {i.action for i in statuses} == {"update"}


def test_the_summary_shows_keys_and_ids_but_no_name(night):
    summary = night.plan().summary().text()
    names = night.sql("select full_name, email from restricted.person_contacts")
    clear = {value for row in names for value in row if value}
    assert clear and not [value for value in clear if value in summary]
    assert "create" in summary and "Follow up" not in summary


def test_a_second_plan_after_the_writes_succeeded_writes_nothing(night):
    first = night.plan()
    apply_as_ok(night, first)
    again = night.plan()
    assert again.aborted is None
    assert again.items == () and again.skipped == ()
    assert again.existing == len(first.items)


def test_a_pending_write_is_planned_again_as_maybe_written(night):
    first = night.plan()
    ledger.record_pending(night.engine, first.items, "night-1")  # then the process died
    again = night.plan()
    assert [(i.activation_key, i.action) for i in again.items] == [
        (i.activation_key, i.action) for i in first.items
    ]


def test_a_changed_payload_gives_an_update_that_never_reopens_or_reassigns(night):
    ids = apply_as_ok(night, night.plan())
    (key,) = night.sql("select activation_key from activation.act_followup_tasks")[0]
    night.sql("update activation.act_followup_tasks set description = description || ' (changed)'")
    changed = night.plan()
    assert [(i.activation_key, i.action, i.record_id) for i in changed.items] == [
        (key, "update", ids[key])
    ]
    fields = changed.items[0].fields
    assert fields.get("Description", fields.get("hs_task_body")).endswith("(changed)")
    assert not {"Status", "OwnerId", "WhoId", "hs_task_status", "hubspot_owner_id"} & set(fields)


def test_a_touched_handoff_closes_its_task(night):
    ids = apply_as_ok(night, night.plan())
    ((handoff, key, system),) = night.sql(
        "select handoff_id, activation_key, target_system from activation.act_followup_tasks"
    )
    # touched where SLA is computed, so fct_sla and the hand-off queue both learn it
    night.sql(
        "update intermediate.int_sla__handoffs set first_touch_at = evaluated_at, "
        f"sla_status = 'met' where handoff_id = '{handoff}'"
    )
    night.rebuild("night-2", "fct_sla", "mart_handoff_queue")
    closing = night.plan("night-2")
    tasks = [i for i in closing.items if i.object in ("Task", "tasks")]
    assert [(i.activation_key, i.action, i.record_id) for i in tasks] == [(key, "close", ids[key])]
    assert CLOSED_STATUS[system] in tasks[0].fields.values()
    # the person's records now say the SLA was met
    statuses = {i.shared_values["sla_status"] for i in closing.items if i.shared_values}
    assert statuses == {"met"}


def test_an_older_untouched_handoff_behind_a_touched_one_gets_no_task(night):
    ((person, latest),) = night.sql(
        "select person_id, handoff_id from activation.act_followup_tasks"
    )
    older = night.sql(
        "select handoff_id from intermediate.int_sla__handoffs "
        f"where person_id = '{person}' and handoff_id <> '{latest}'"
    )
    assert older, "the scenario's due person was handed off before"
    # the latest hand-off touched, every older one left without a touch
    night.sql(
        "update intermediate.int_sla__handoffs set "
        f"first_touch_at = case when handoff_id = '{latest}' then evaluated_at end, "
        f"sla_status = case when handoff_id = '{latest}' then 'met' else 'breached' end "
        f"where person_id = '{person}'"
    )
    night.rebuild("night-2", "fct_sla", "mart_handoff_queue")
    untouched = night.sql(
        "select count(*) from marts.fct_sla "
        f"where person_id = '{person}' and first_touch_at is null"
    )
    assert untouched == [(len(older),)]
    queued = f"select count(*) from marts.mart_handoff_queue where person_id = '{person}'"
    assert night.sql(queued) == [(0,)]
    tasks = f"select count(*) from activation.act_followup_tasks where person_id = '{person}'"
    assert night.sql(tasks) == [(0,)]


def test_a_human_edit_of_the_shared_status_is_a_conflict_and_left_alone(night):
    first = night.plan()
    apply_as_ok(night, first)
    leads = sorted((i for i in first.items if i.object == "Lead"), key=lambda i: i.record_id)
    edited, untouched = leads[0], leads[1]
    # the next night's ingestion loads the leads with the fields Leadbridge wrote, one of
    # them since changed by a rep
    night.sql(
        "alter table salesforce.lead add column leadbridge_stage__c varchar;"
        "alter table salesforce.lead add column leadbridge_sla_status__c varchar;"
        "update salesforce.lead set _dlt_load_id = cast(epoch(now()) + 60 as varchar)"
    )
    with duckdb.connect(str(night.warehouse)) as con:
        for item in (edited, untouched):
            con.execute(
                "update salesforce.lead set leadbridge_stage__c = ?, leadbridge_sla_status__c = ? "
                "where id = ?",
                [
                    item.fields["Leadbridge_Stage__c"],
                    item.fields["Leadbridge_SLA_Status__c"],
                    item.record_id,
                ],
            )
        con.execute(
            "update salesforce.lead set leadbridge_stage__c = 'customer' where id = ?",
            [edited.record_id],
        )
    # and Leadbridge's own view of both changes
    night.sql(
        "update activation.act_shared_status set canonical_stage = 'opportunity' "
        f"where record_id in ('{edited.record_id}', '{untouched.record_id}')"
    )
    after = night.plan()
    assert [(c.activation_key, c.reason) for c in after.conflicts] == [
        (edited.activation_key, "Leadbridge_Stage__c")
    ]
    assert [(i.activation_key, i.fields["Leadbridge_Stage__c"]) for i in after.items] == [
        (untouched.activation_key, "opportunity")
    ]
    assert not [note for note in after.notes if "salesforce.lead" in note]


def test_an_erased_person_is_never_planned(night):
    ((person, who_type, who),) = night.sql(
        "select person_id, who_record_type, who_record_id from activation.act_followup_tasks"
    )
    records = night.sql(
        "select hubspot_contact_id, salesforce_lead_id, salesforce_contact_id "
        f"from marts.dim_person where person_id = '{person}'"
    )[0]
    who_is = Identifiers()
    who_is.add_record(who_type, who)
    with night.engine.writer() as sql:
        record_request(sql, who_is, "test")
    erased = night.plan()
    kinds = ("hubspot_contact", "salesforce_lead", "salesforce_contact")
    about = {f"{kind}:{record}" for kind, record in zip(kinds, records, strict=True) if record}
    assert not [i for i in erased.items if i.person_id == person or i.person_record in about]
    assert {s.reason for s in erased.skipped} == {"erased person"}
    assert {s.person_record for s in erased.skipped} == about | {f"{who_type}:{who}"}
    # rebuilt, the models leave the person out themselves
    night.rebuild("night-2")
    assert night.sql(
        f"select count(*) from activation.act_shared_status where person_id = '{person}'"
    ) == [(0,)]


def test_the_abort_guard_refuses_a_runaway_plan_whole(night):
    first = night.plan()
    capped = night.plan(LEADBRIDGE_ACTIVATE_MAX_CHANGES=str(len(first.items) - 1))
    assert "LEADBRIDGE_ACTIVATE_MAX_CHANGES" in capped.aborted
    assert capped.holds() == []
    assert night.plan(LEADBRIDGE_ACTIVATE_MAX_CHANGES=str(len(first.items))).aborted is None
    apply_as_ok(night, first)
    night.sql("update activation.act_shared_status set canonical_stage = 'recycled'")
    runaway = night.plan()
    assert "LEADBRIDGE_ACTIVATE_MAX_SHARE" in runaway.aborted
    assert night.plan(LEADBRIDGE_ACTIVATE_MAX_SHARE="1").aborted is None


def test_the_guard_weighs_only_what_the_systems_set_to_apply_would_send(night):
    first = night.plan()
    by_system = {s: sum(1 for i in first.items if i.system == s) for s in ("salesforce", "hubspot")}
    assert all(by_system.values()), by_system
    cap = str(by_system["salesforce"])
    assert (
        "LEADBRIDGE_ACTIVATE_MAX_CHANGES" in night.plan(LEADBRIDGE_ACTIVATE_MAX_CHANGES=cap).aborted
    )
    salesforce_only = night.plan(
        LEADBRIDGE_ACTIVATE_MAX_CHANGES=cap, LEADBRIDGE_ACTIVATE_SALESFORCE="apply"
    )
    assert salesforce_only.aborted is None and len(salesforce_only.items) == len(first.items)


def test_a_night_that_did_not_publish_is_refused(night):
    assert "did not publish" in night.plan("night-2").aborted
    assert night.plan(None).aborted is None  # outside a run: the working marts are in place
    night.sql("update marts.dim_person set current_stage = 'lead'")
    refused = night.plan(None)
    assert "dim_person" in refused.aborted and refused.items == ()


def test_a_queue_owned_handoff_takes_the_fallback_owner_or_is_skipped(night):
    night.sql(
        "update activation.act_followup_tasks set target_system = 'salesforce', "
        "target_object = 'Task', owner_record_id = null, owner_is_queue = true"
    )
    unset = night.plan()
    assert [s.reason for s in unset.skipped] == [
        "queue-owned hand-off and LEADBRIDGE_ACTIVATE_QUEUE_OWNER is unset"
    ]
    owner = "005000000000000009"
    given = night.plan(LEADBRIDGE_ACTIVATE_QUEUE_OWNER=owner)
    assert [i.fields["OwnerId"] for i in given.items if i.object == "Task"] == [owner]


def test_a_task_without_an_owner_is_skipped_with_the_reason(night):
    night.sql("update activation.act_followup_tasks set owner_record_id = null")
    owned = night.sql("select owner_key is not null from activation.act_followup_tasks")
    reasons = [s.reason for s in night.plan().skipped]
    night.sql("update activation.act_followup_tasks set owner_key = null")
    assert [s.reason for s in night.plan().skipped] == ["the hand-off has no owner"]
    assert owned == [(True,)] and reasons[0].startswith("the owner at the hand-off has no ")


@dataclass
class Recorder:
    """A writer that answers ok and keeps the writes it was given."""

    system: str
    usage: ApiUsage = None  # type: ignore[assignment]
    sent: list = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.usage, self.sent = ApiUsage(system=self.system), []

    def batches(self, writes):
        def send(batch):
            self.sent += batch
            return [WriteResult(w.activation_key, w.system, OK, "00T1", "200") for w in batch]

        yield Batch(tuple(writes), send)


def test_an_apply_sends_the_plan_shown_while_what_it_was_made_from_holds(night):
    applying = Settings.from_env(
        {"LEADBRIDGE_ACTIVATE_SALESFORCE": "apply", "LEADBRIDGE_ACTIVATE_MAX_CHANGES": "100000"}
    )
    shown = plan(night.engine, applying, night.night())
    assert shown.items and current(night.engine, applying, night.night(), shown)
    # another setting, or a write recorded since, makes the plan stale
    capped = Settings.from_env(
        {"LEADBRIDGE_ACTIVATE_SALESFORCE": "apply", "LEADBRIDGE_ACTIVATE_MAX_CHANGES": "1"}
    )
    assert not current(night.engine, capped, night.night(), shown)
    salesforce = [i for i in shown.items if i.system == "salesforce"]
    # a plan shown is sent as it is: here one that differs from what planning again gives
    only_one = Plan(items=(salesforce[0],), modes=shown.modes, basis=shown.basis)
    writer = Recorder("salesforce")
    done = apply(night.engine, applying, night.night(), {"salesforce": writer}, "night-1", only_one)
    assert writer.sent == [salesforce[0]] and done.outcomes["salesforce"].ok == 1
    assert not current(night.engine, applying, night.night(), shown)
    # stale, it is planned again: everything but the write now on record
    writer = Recorder("salesforce")
    apply(night.engine, applying, night.night(), {"salesforce": writer}, "night-1", shown)
    assert {w.activation_key for w in writer.sent} == {i.activation_key for i in salesforce[1:]}


def test_an_apply_with_no_system_set_to_apply_plans_nothing(night):
    runaway = Settings.from_env({"LEADBRIDGE_ACTIVATE_MAX_CHANGES": "1"})
    assert plan(night.engine, runaway, night.night()).aborted
    done = apply(night.engine, runaway, night.night(), {}, "night-1")
    assert done.plan.items == () and done.refused is None and done.outcomes == {}
    assert done.text() == "nothing written: no system is set to apply"
