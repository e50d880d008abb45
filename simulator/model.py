"""The simulated company's model: the cast, the record stores and id allocation.

`World` holds every record of both systems as versioned changes plus the cast that
produced them (reps, campaigns, companies, people); `world.build_world` fills it, and
`story`, `dirt` and `profiles` write to it. Nothing here imports those writers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from simulator.config import SimulatorConfig
from simulator.schema import (
    HUBSPOT_MODIFIED,
    SALESFORCE_FIELDS,
    SALESFORCE_PREFIX,
    SALESFORCE_TOUCH,
    hubspot_defaults,
    salesforce_defaults,
)
from simulator.store import EventLog, ObjectStore, Record

PORTAL_ID = 24681357
EMAIL_APP_ID = 113  # HubSpot's marketing email app


@dataclass
class Rep:
    """A person who owns records: a Salesforce User and a HubSpot owner."""

    sf_id: str
    owner_id: str
    user_id: int
    first: str
    last: str
    email: str
    team: str
    sales: bool


@dataclass
class Campaign:
    """One campaign as both systems know it (same name; HubSpot adds a utm slug)."""

    name: str
    slug: str
    kind: str
    hs_id: str
    sf_id: str
    start: datetime
    end: datetime
    email_ids: tuple[int, ...]


@dataclass
class Company:
    """A target company; its HubSpot company and Salesforce Account appear when needed."""

    name: str
    domain: str
    industry: str
    employees: int
    revenue: float
    country: str
    hs_id: str | None = None
    first_contact_at: datetime | None = None
    account_id: str | None = None
    account_at: datetime | None = None
    account_owner: str | None = None
    won_at: datetime | None = None


@dataclass
class Person:
    """One human, and the records each system keeps about them."""

    index: int
    first: str
    last: str
    email: str | None
    title: str
    phone: str | None
    company: Company
    arrival: datetime
    hubspot: bool = True
    contact: Record | None = None
    lead: Record | None = None
    sf_contact: Record | None = None
    opportunity: Record | None = None
    owner: Rep | None = None
    campaign: Campaign | None = None
    members: dict[str, Record] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)


class World:
    """Every record of both systems, versioned, plus the cast that produced them."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.start = config.start
        self.end = config.end
        self.rng = random.Random(config.seed)
        self.hubspot: dict[str, ObjectStore] = {
            "contacts": ObjectStore(
                "contacts", hubspot_defaults("contacts"), (HUBSPOT_MODIFIED["contacts"],)
            ),
            "companies": ObjectStore(
                "companies", hubspot_defaults("companies"), (HUBSPOT_MODIFIED["companies"],)
            ),
            "tasks": ObjectStore(
                "tasks", hubspot_defaults("tasks"), (HUBSPOT_MODIFIED["tasks"],)
            ),
            "owners": ObjectStore("owners", {}, ("updatedAt",)),
            "forms": ObjectStore("forms", {}, ("updatedAt",)),
            "campaigns": ObjectStore("campaigns", {}, ("updatedAt",)),
        }
        self.salesforce: dict[str, ObjectStore] = {
            name: ObjectStore(name, salesforce_defaults(name), SALESFORCE_TOUCH[name])
            for name in SALESFORCE_FIELDS
        }
        # Property groups and custom properties clients created: object → name → definition.
        self.hubspot_groups: dict[str, dict[str, dict[str, Any]]] = {}
        self.hubspot_custom_properties: dict[str, dict[str, dict[str, Any]]] = {}
        self.submissions: dict[str, EventLog] = {}
        self.email_events = EventLog()
        self.reps: list[Rep] = []
        self.marketers: list[Rep] = []
        self.integration_user: Rep | None = None
        self.queues: list[str] = []
        self.campaigns: list[Campaign] = []
        self.forms: list[tuple[str, str]] = []
        self.companies: list[Company] = []
        self.people: list[Person] = []
        # Which records carry which deliberate dirt, for tests and curious readers.
        self.dirt: dict[str, list[Any]] = {}
        self._counters: dict[str, int] = {}
        self._campaigns_by_day: dict[Any, list[Campaign]] = {}

    # -- ids -----------------------------------------------------------------------------
    def _next(self, key: str, first: int = 1) -> int:
        n = self._counters.get(key, first)
        self._counters[key] = n + 1
        return n

    def sf_id(self, sobject: str) -> str:
        """A new 18-character Salesforce id with the object's key prefix.

        Digits and lowercase letters only, so the 3-character case-safe suffix is "AAA"
        exactly as Salesforce would compute it.
        """
        return f"{SALESFORCE_PREFIX[sobject]}8d{self._next(sobject):010d}AAA"

    def hs_id(self, kind: str) -> str:
        """A new HubSpot numeric id (contacts and companies count separately)."""
        base = {"contacts": 1000, "companies": 5_000_000, "owners": 71_000_000,
                "tasks": 80_000_000_000}[kind]
        return str(base + self._next("hs_" + kind))

    def guid(self) -> str:
        """A deterministic GUID-shaped id (forms, campaigns, email events).

        Formatted by hand: `uuid.UUID` costs more than the rest of an email event.
        """
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    # -- record helpers ------------------------------------------------------------------
    def sf_create(
        self, sobject: str, at: datetime, fields: dict[str, Any], visible_at: datetime | None = None
    ) -> Record:
        """Create a Salesforce record with Id and CreatedDate filled in."""
        record_id = self.sf_id(sobject)
        values = {"Id": record_id, "CreatedDate": at, **fields}
        return self.salesforce[sobject].create(record_id, at, values, visible_at)

    def sf_change(self, sobject: str, record: Record, at: datetime, **fields: Any) -> None:
        """Change fields of a Salesforce record at `at`."""
        self.salesforce[sobject].change(record, at, fields)

    def hs_change(
        self, record: Record, at: datetime, source: str, source_id: str | None, **props: Any
    ) -> None:
        """Change contact properties; the source feeds `propertiesWithHistory`."""
        self.hubspot["contacts"].change(record, at, {**props, "_src": (source, source_id)})

    def lead_history(
        self, lead: Record, at: datetime, field_name: str, old: Any, new: Any, by: str
    ) -> Record:
        """A LeadHistory row; a few arrive days after their CreatedDate (late rows)."""
        visible = None
        if self.rng.random() < 0.04:
            visible = at + timedelta(hours=self.rng.randint(26, 72))
        data_type = {"Owner": "EntityId", "created": "Text", "leadConverted": "Text"}.get(
            field_name, "DynamicEnum"
        )
        return self.sf_create(
            "LeadHistory",
            at,
            {
                "LeadId": lead.id,
                "Field": field_name,
                "DataType": data_type,
                "OldValue": old,
                "NewValue": new,
                "CreatedById": by,
            },
            visible,
        )

    def finalize(self) -> None:
        """Put every change and event in time order; the world is read-only afterwards."""
        for store in (*self.hubspot.values(), *self.salesforce.values()):
            store.finalize()
        for log in (*self.submissions.values(), self.email_events):
            log.finalize()

    def campaign_at(self, at: datetime) -> Campaign | None:
        """A campaign running at `at`, if any (random among the running ones)."""
        day = at.date()
        candidates = self._campaigns_by_day.get(day)
        if candidates is None:
            # Campaigns touching this day; the exact check below handles the boundaries.
            candidates = [c for c in self.campaigns if c.start.date() <= day <= c.end.date()]
            self._campaigns_by_day[day] = candidates
        running = [c for c in candidates if c.start <= at <= c.end]
        return self.rng.choice(running) if running else None
