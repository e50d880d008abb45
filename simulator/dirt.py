"""The mess real CRMs accumulate, added on purpose so the pipeline has to cope with it.

`plan` flags people before their stories run (people only in Salesforce, contacts
without an email); `apply` edits the finished stories (email case and whitespace
drift between the systems, merged duplicates on both sides, deleted and re-created
records). Each kind hits `max(3, people // 150)` cases, chosen with the world's seeded
random generator, and every case is listed in `world.dirt` under its kind.
Other dirt happens inside the story itself: queue owners, late history rows, stage
regressions, weekend hand-offs, deleted tasks.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from simulator.model import Person, World
from simulator.store import Record


def cases(world: World) -> int:
    """How many cases of each kind of dirt a world of this size gets."""
    return max(3, world.config.people // 150)


def plan(world: World) -> dict[str, list[int]]:
    """Flag people for the dirt that has to be in their story from the start."""
    k = cases(world)
    picks = world.rng.sample(range(len(world.people)), min(len(world.people), 3 * k))
    chosen = {"salesforce_only": picks[: 2 * k], "missing_email": picks[2 * k:]}
    for index in chosen["salesforce_only"]:
        world.people[index].flags.add("salesforce_only")
    # One prospected lead and every flagged import have no email at all.
    for index in chosen["missing_email"] + chosen["salesforce_only"][:1]:
        world.people[index].email = None
    world.dirt["salesforce_only"] = [world.people[i].index for i in chosen["salesforce_only"]]
    world.dirt["missing_email"] = [world.people[i].index for i in chosen["missing_email"]]
    return chosen


def _last_change(record: Record) -> datetime:
    return max(at for at, _ in record.changes)


def _sample(world: World, people: list[Person], used: set[int]) -> list[Person]:
    pool = [p for p in people if p.index not in used]
    chosen = world.rng.sample(pool, min(cases(world), len(pool)))
    used.update(p.index for p in chosen)
    return chosen


def _variant(email: str) -> str:
    """The same address as another system holds it: other case, stray whitespace."""
    local, _, domain = email.partition("@")
    return f" {local.title()}@{domain.upper()} "


def apply(world: World, chosen: dict[str, list[int]]) -> None:
    """Add the dirt that edits finished stories."""
    cutoff = world.config.initial_as_of - timedelta(days=30)
    used: set[int] = set()
    synced = [p for p in world.people if p.contact and p.lead and p.email
              and p.lead.first_visible < cutoff]
    for person in _sample(world, synced, used):
        for record in (person.lead, person.sf_contact):
            if record is not None:
                record.changes[0][1]["Email"] = _variant(person.email)
        world.dirt.setdefault("email_case_whitespace", []).append(person.lead.id)
    early = [p for p in world.people if p.contact and p.email and p.contact.first_visible < cutoff]
    for n, person in enumerate(_sample(world, early, used)):
        _hubspot_merge(world, person, losers=2 if n == 0 else 1)
    for person in _sample(world, [p for p in synced if p.index not in used], used):
        _lead_merge(world, person)
    converted = [p for p in world.people if p.sf_contact and p.sf_contact.first_visible < cutoff]
    for person in _sample(world, converted, used):
        _contact_merge(world, person)
    hubspot_only = [p for p in world.people if p.contact and not p.lead and p.email
                    and _last_change(p.contact) < cutoff]
    for person in _sample(world, hubspot_only, used):
        _hubspot_recreate(world, person)
    open_leads = [p for p in world.people if p.lead and not p.sf_contact
                  and _last_change(p.lead) < cutoff]
    for person in _sample(world, open_leads, used):
        _lead_recreate(world, person)


def _hubspot_merge(world: World, person: Person, losers: int) -> None:
    """Duplicate contacts (another address) merged into the person's contact."""
    rng, store = world.rng, world.hubspot["contacts"]
    at = person.contact.first_visible
    loser_ids = []
    for n in range(losers):
        at += timedelta(days=rng.randint(1, 6), minutes=rng.randint(1, 600))
        contact_id = world.hs_id("contacts")
        email = f"{person.first.lower()}{n + 1}.{person.last.lower()}@gmail.com"
        store.create(contact_id, at, {
            "email": email, "firstname": person.first, "lastname": person.last,
            "lifecyclestage": "subscriber", "hs_lifecyclestage_subscriber_date": at,
            "hubspotscore": 5, "hs_analytics_source": "OFFLINE",
            "hs_analytics_source_data_1": "IMPORT", "createdate": at,
            "hs_object_id": contact_id, "_src": ("IMPORT", "import-duplicates"),
        })
        loser_ids.append(contact_id)
    merged_at = at + timedelta(days=rng.randint(1, 7))
    for contact_id in loser_ids:
        store.change(store.records[contact_id], merged_at,
                     {"_archived": True, "_archivedAt": merged_at})
    world.hs_change(person.contact, merged_at, "CRM_UI", "userId:merge",
                    hs_merged_object_ids=";".join(loser_ids))
    world.dirt.setdefault("hubspot_merged", []).append((person.contact.id, loser_ids))


def _lead_merge(world: World, person: Person) -> None:
    """A duplicate lead from a trade-show list, merged into the person's lead."""
    rng = world.rng
    at = person.lead.first_visible + timedelta(days=rng.randint(1, 5), hours=rng.randint(1, 9))
    first = person.lead.changes[0][1]
    duplicate = world.sf_create("Lead", at, {
        **{k: first[k] for k in ("FirstName", "LastName", "Name", "Company", "Title")},
        "Email": person.email.upper(), "Status": "Open - Not Contacted",
        "LeadSource": "Trade Show", "Rating": "Cold", "OwnerId": first["OwnerId"],
        "IsConverted": False,
    })
    world.lead_history(duplicate, at, "created", None, None, world.reps[0].sf_id)
    merged_at = at + timedelta(days=rng.randint(1, 7))
    world.sf_change("Lead", duplicate, merged_at, IsDeleted=True, MasterRecordId=person.lead.id)
    world.sf_change("Lead", person.lead, merged_at)
    world.dirt.setdefault("salesforce_lead_merged", []).append((person.lead.id, duplicate.id))


def _contact_merge(world: World, person: Person) -> None:
    """A contact a rep typed in by hand, merged into the converted contact."""
    rng = world.rng
    first = person.sf_contact.changes[0][1]
    at = person.sf_contact.first_visible + timedelta(days=rng.randint(1, 3))
    duplicate = world.sf_create("Contact", at, {
        **{k: first[k] for k in ("AccountId", "FirstName", "LastName", "Name", "OwnerId")},
        "Email": None, "LeadSource": "Other",
    })
    merged_at = at + timedelta(days=rng.randint(1, 5))
    world.sf_change("Contact", duplicate, merged_at, IsDeleted=True,
                    MasterRecordId=person.sf_contact.id)
    world.sf_change("Contact", person.sf_contact, merged_at)
    world.dirt.setdefault("salesforce_contact_merged", []).append(
        (person.sf_contact.id, duplicate.id))


def _hubspot_recreate(world: World, person: Person) -> None:
    """The contact is deleted, then the person fills a form again: a new contact."""
    rng, store = world.rng, world.hubspot["contacts"]
    deleted_at = _last_change(person.contact) + timedelta(days=rng.randint(1, 5))
    store.change(person.contact, deleted_at, {"_archived": True, "_archivedAt": deleted_at})
    at = deleted_at + timedelta(days=rng.randint(1, 5), hours=rng.randint(1, 8))
    form_id, form_name = world.forms[0]
    world.submissions[form_id].add((at, world.guid(), (
        ("email", person.email), ("firstname", person.first), ("lastname", person.last)),
        "https://www.leadbridge-demo.com/contact"))
    old = person.contact
    contact_id = world.hs_id("contacts")
    person.contact = store.create(contact_id, at, {
        "email": person.email, "firstname": person.first, "lastname": person.last,
        "company": person.company.name, "jobtitle": person.title,
        "lifecyclestage": "lead", "hs_lifecyclestage_lead_date": at, "hubspotscore": 15,
        "hs_analytics_source": "DIRECT_TRAFFIC",
        "hs_analytics_source_data_1": "leadbridge-demo.com",
        "first_conversion_event_name": form_name, "first_conversion_date": at,
        "recent_conversion_event_name": form_name, "recent_conversion_date": at,
        "createdate": at, "hs_object_id": contact_id, "_src": ("FORM", form_id),
    })
    world.dirt.setdefault("hubspot_recreated", []).append((old.id, contact_id))


def _lead_recreate(world: World, person: Person) -> None:
    """The lead is deleted by mistake and entered again as a new lead."""
    rng = world.rng
    deleted_at = _last_change(person.lead) + timedelta(days=rng.randint(1, 5))
    world.sf_change("Lead", person.lead, deleted_at, IsDeleted=True)
    at = business_time_after(deleted_at + timedelta(days=rng.randint(1, 3)))
    first = person.lead.changes[0][1]
    old = person.lead
    person.lead = world.sf_create("Lead", at, {
        **{k: first[k] for k in ("FirstName", "LastName", "Name", "Email", "Company", "Title",
                                 "Phone", "LeadSource")},
        "Status": "Open - Not Contacted", "Rating": "Warm", "OwnerId": person.owner.sf_id,
        "IsConverted": False,
    })
    world.lead_history(person.lead, at, "created", None, None, person.owner.sf_id)
    if person.contact is not None:
        world.hs_change(person.contact, at + timedelta(minutes=5), "SALESFORCE", person.lead.id,
                        salesforceleadid=person.lead.id)
    world.dirt.setdefault("salesforce_lead_recreated", []).append((old.id, person.lead.id))


def business_time_after(at: datetime) -> datetime:
    """Ten in the morning of the next weekday on or after `at` (re-entry is office work)."""
    while at.weekday() >= 5:
        at += timedelta(days=1)
    return at.replace(hour=10, minute=0, second=0)
