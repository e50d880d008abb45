"""The simulated company: reference data, id allocation and the record stores.

`build_world(config)` is the one entry point. It lays out the cast (sales reps and
queues, campaigns, forms, target companies, people), lets `story` play out each
person's life as timed changes, lets `dirt` add the mess real CRMs have, and then
freezes everything in time order. The same config always yields the same world:
randomness comes from one `random.Random(seed)` consumed in a fixed order (the
reps' calendar of planned meetings and calls draws from its own, seeded by the seed).
"""

from __future__ import annotations

import gc
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
FIRST_NAMES = (
    "Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Kara",
    "Liam", "Mia", "Noah", "Olivia", "Paul", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera",
    "Will", "Xenia", "Yusuf", "Zoe", "Aaron", "Bea", "Carlos", "Dana", "Elif", "Farid", "Greta",
    "Hana", "Ivan", "Julia", "Kofi", "Lena", "Marco", "Nina", "Oscar", "Priya", "Rahul", "Sofia",
    "Tomas", "Ula", "Victor"
)
LAST_NAMES = (
    "Adams", "Berger", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hoffmann", "Ito",
    "Jansen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi",
    "Schmidt", "Tanaka", "Ueda", "Varga", "Weber", "Xu", "Young", "Zimmer", "Alvarez", "Brandt",
    "Novak", "Silva", "Keller", "Murphy", "Lindqvist", "Haddad", "Mendes", "Kaur", "Byrne"
)
COMPANY_WORDS = (
    "Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Cyberdyne", "Soylent",
    "Tyrell", "Hooli", "Vandelay", "Wonka", "Gringotts", "Oscorp", "Aperture", "Massive",
    "Dynamic", "Blue", "Sun", "Monarch", "Nakatomi", "Zenith", "Apex", "Vertex", "Summit",
    "Harbor", "Pioneer", "Atlas", "Orion", "Nimbus", "Quantum", "Beacon", "Cobalt"
)
COMPANY_SUFFIXES = ("Labs", "Systems", "Group", "Logistics", "Software", "Industries",
                    "Analytics", "Health", "Foods", "Energy", "Retail", "Capital")
INDUSTRIES = ("COMPUTER_SOFTWARE", "FINANCIAL_SERVICES", "HOSPITAL_HEALTH_CARE", "RETAIL",
              "LOGISTICS_AND_SUPPLY_CHAIN", "MANUFACTURING", "MARKETING_AND_ADVERTISING")
COUNTRIES = ("United States", "Germany", "United Kingdom", "France", "Netherlands", "Canada",
             "Australia", "Sweden")
TITLES = ("Head of Marketing", "VP Sales", "Data Analyst", "CTO", "Operations Manager",
          "Marketing Manager", "Revenue Operations Lead", "CFO", "IT Director", "Founder")
CAMPAIGN_KINDS = (
    ("Webinar", "Webinar"), ("Email", "Newsletter"), ("Advertisement", "Paid Search"),
    ("Content", "Ebook"), ("Trade Show", "Trade Show"), ("Email", "Nurture"),
)
CAMPAIGN_TOPICS = ("Pipeline Analytics", "Lead Scoring 101", "Revenue Forecasting",
                   "Data Quality", "Attribution Deep Dive", "Sales Velocity", "Customer 360",
                   "Marketing Ops Summit", "RevOps Playbook", "AI for Sales")
FORMS = (("Contact Us", "hubspot"), ("Demo Request", "hubspot"), ("Ebook Download", "hubspot"),
         ("Webinar Registration", "hubspot"), ("Newsletter Signup", "hubspot"))
QUEUES = ("Inbound Lead Queue", "Partner Lead Queue")


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
            "contacts": ObjectStore("contacts", hubspot_defaults("contacts"),
                                    (HUBSPOT_MODIFIED["contacts"],)),
            "companies": ObjectStore("companies", hubspot_defaults("companies"),
                                     (HUBSPOT_MODIFIED["companies"],)),
            "owners": ObjectStore("owners", {}, ("updatedAt",)),
            "forms": ObjectStore("forms", {}, ("updatedAt",)),
            "campaigns": ObjectStore("campaigns", {}, ("updatedAt",)),
        }
        self.salesforce: dict[str, ObjectStore] = {
            name: ObjectStore(name, salesforce_defaults(name), SALESFORCE_TOUCH[name])
            for name in SALESFORCE_FIELDS
        }
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
        base = {"contacts": 1000, "companies": 5_000_000, "owners": 71_000_000}[kind]
        return str(base + self._next("hs_" + kind))

    def guid(self) -> str:
        """A deterministic GUID-shaped id (forms, campaigns, email events).

        Formatted by hand: `uuid.UUID` costs more than the rest of an email event.
        """
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    # -- record helpers ------------------------------------------------------------------
    def sf_create(self, sobject: str, at: datetime, fields: dict[str, Any],
                  visible_at: datetime | None = None) -> Record:
        """Create a Salesforce record with Id and CreatedDate filled in."""
        record_id = self.sf_id(sobject)
        values = {"Id": record_id, "CreatedDate": at, **fields}
        return self.salesforce[sobject].create(record_id, at, values, visible_at)

    def sf_change(self, sobject: str, record: Record, at: datetime, **fields: Any) -> None:
        """Change fields of a Salesforce record at `at`."""
        self.salesforce[sobject].change(record, at, fields)

    def hs_change(self, record: Record, at: datetime, source: str, source_id: str | None,
                  **props: Any) -> None:
        """Change contact properties; the source feeds `propertiesWithHistory`."""
        self.hubspot["contacts"].change(record, at, {**props, "_src": (source, source_id)})

    def lead_history(self, lead: Record, at: datetime, field_name: str, old: Any, new: Any,
                     by: str) -> Record:
        """A LeadHistory row; a few arrive days after their CreatedDate (late rows)."""
        visible = None
        if self.rng.random() < 0.04:
            visible = at + timedelta(hours=self.rng.randint(26, 72))
        data_type = {"Owner": "EntityId", "created": "Text", "leadConverted": "Text"}.get(
            field_name, "DynamicEnum")
        return self.sf_create("LeadHistory", at, {
            "LeadId": lead.id, "Field": field_name, "DataType": data_type, "OldValue": old,
            "NewValue": new, "CreatedById": by,
        }, visible)

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


def _slug(text: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


def _cast(world: World) -> None:
    """Reps, queues, owners, campaigns, forms and companies: the stage for the story."""
    rng, cfg = world.rng, world.config
    founded = world.start - timedelta(days=400)
    n_reps = max(3, min(60, 3 + cfg.people // 60))
    for i in range(n_reps + 3):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        sales = i < n_reps
        team = ("Sales EMEA", "Sales NA")[i % 2] if sales else "Marketing"
        rep = Rep(sf_id=world.sf_id("User"), owner_id=world.hs_id("owners"),
                  user_id=9_100_000 + i, first=first, last=last,
                  email=f"{first.lower()}.{last.lower()}{i}@leadbridge-demo.com", team=team,
                  sales=sales)
        (world.reps if sales else world.marketers).append(rep)
    world.integration_user = world.marketers.pop()
    world.integration_user.first, world.integration_user.last = "HubSpot", "Integration"
    for rep in (*world.reps, *world.marketers, world.integration_user):
        created = founded + timedelta(days=rng.randint(0, 300))
        title = "Account Executive" if rep.sales else "Marketing Manager"
        if rep is world.integration_user:
            title = "Integration User"
        world.salesforce["User"].create(rep.sf_id, created, {
            "Id": rep.sf_id, "Name": f"{rep.first} {rep.last}", "FirstName": rep.first,
            "LastName": rep.last, "Email": rep.email, "Title": title,
            "Department": rep.team, "IsActive": True, "UserType": "Standard",
            "CreatedDate": created,
        })
        if rep is not world.integration_user:
            world.hubspot["owners"].create(rep.owner_id, created, {
                "id": rep.owner_id, "email": rep.email, "firstName": rep.first,
                "lastName": rep.last, "userId": rep.user_id,
                "teams": [{"id": str(400 + (rep.team != "Sales EMEA")), "name": rep.team,
                           "primary": True}],
                "archived": False, "createdAt": created,
            })
    # One rep leaves mid-window: deactivated in Salesforce, archived in HubSpot.
    leaver = world.reps[-1]
    left = world.start + (world.end - world.start) * 0.6
    world.sf_change("User", world.salesforce["User"].records[leaver.sf_id], left,
                    IsActive=False)
    world.hubspot["owners"].change(world.hubspot["owners"].records[leaver.owner_id], left,
                                   {"archived": True})
    world.dirt["inactive_rep"] = [leaver.sf_id]
    world.queues = [world.sf_id("Group") for _ in QUEUES]

    span = (world.end - world.start).days
    n_campaigns = max(4, min(60, 4 + cfg.people // 80))
    for i in range(n_campaigns):
        sf_type, label = CAMPAIGN_KINDS[i % len(CAMPAIGN_KINDS)]
        begin = world.start + timedelta(days=rng.randint(-20, max(1, span - 25)),
                                        hours=rng.randint(8, 16))
        finish = begin + timedelta(days=rng.randint(20, 75))
        name = f"{begin:%Y-%m} {label}: {CAMPAIGN_TOPICS[i % len(CAMPAIGN_TOPICS)]}"
        campaign = Campaign(name=name, slug=_slug(name), kind=sf_type, hs_id=world.guid(),
                            sf_id=world.sf_id("Campaign"), start=begin, end=finish,
                            email_ids=tuple(300_000 + i * 10 + k for k in range(2)))
        world.campaigns.append(campaign)
        budget = float(rng.choice((2000, 5000, 8000, 12000, 20000, 35000)))
        created = begin - timedelta(days=7)
        hs = world.hubspot["campaigns"].create(campaign.hs_id, created, {
            "id": campaign.hs_id, "createdAt": created,
            "hs_name": name, "hs_start_date": begin.date(), "hs_end_date": finish.date(),
            "hs_campaign_status": "planned", "hs_utm": campaign.slug,
            "hs_budget_items_sum_amount": budget,
        })
        world.hubspot["campaigns"].change(hs, begin, {"hs_campaign_status": "in_progress"})
        world.hubspot["campaigns"].change(hs, finish, {"hs_campaign_status": "completed"})
        sf = world.salesforce["Campaign"].create(campaign.sf_id, created, {
            "Id": campaign.sf_id, "Name": name, "Type": sf_type, "Status": "Planned",
            "StartDate": begin.date(), "EndDate": finish.date(), "BudgetedCost": budget,
            "IsActive": False, "CreatedDate": created,
        })
        world.sf_change("Campaign", sf, begin, Status="In Progress", IsActive=True)
        world.sf_change("Campaign", sf, finish, Status="Completed", IsActive=False,
                        ActualCost=round(budget * rng.uniform(0.7, 1.15), 2))
    for name, form_type in FORMS:
        form_id = world.guid()
        created = founded + timedelta(days=rng.randint(0, 200))
        world.forms.append((form_id, name))
        world.submissions[form_id] = EventLog()
        world.hubspot["forms"].create(form_id, created, {
            "id": form_id, "name": name, "formType": form_type, "archived": False,
            "createdAt": created,
        })
    used: set[str] = set()
    for _ in range(max(3, cfg.people // 3)):
        name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIXES)}"
        while name in used:
            name = f"{name} {rng.choice(('Inc', 'GmbH', 'Ltd', 'AG', 'BV'))}"
        used.add(name)
        employees = rng.choice((12, 40, 85, 150, 400, 900, 2500, 8000))
        world.companies.append(Company(
            name=name, domain=_slug(name).replace("-", "") + ".example.com",
            industry=rng.choice(INDUSTRIES), employees=employees,
            revenue=float(employees * rng.randint(80, 250) * 1000),
            country=rng.choice(COUNTRIES),
        ))


def _people(world: World) -> None:
    """Who the people are and when each first shows up."""
    rng = world.rng
    window = (world.end - world.start).total_seconds()
    for i in range(world.config.people):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company = rng.choice(world.companies)
        arrival = world.start + timedelta(seconds=int(rng.random() * window * 0.97))
        world.people.append(Person(
            index=i, first=first, last=last,
            email=f"{first.lower()}.{last.lower()}{i}@{company.domain}",
            title=rng.choice(TITLES),
            phone=f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
            if rng.random() < 0.7 else None,
            company=company, arrival=arrival,
        ))


def _company_records(world: World) -> None:
    """HubSpot companies and Salesforce Accounts, created when first needed."""
    rng = world.rng
    for company in world.companies:
        if company.hs_id and company.first_contact_at:
            created = company.first_contact_at - timedelta(minutes=rng.randint(1, 30))
            hs = world.hubspot["companies"].create(company.hs_id, created, {
                "name": company.name, "domain": company.domain,
                "industry": company.industry, "numberofemployees": company.employees,
                "annualrevenue": company.revenue, "country": company.country,
                "createdate": created, "hs_object_id": company.hs_id,
            })
        else:
            hs = None
        if company.account_id and company.account_at:
            at = company.account_at
            account = world.salesforce["Account"].create(company.account_id, at, {
                "Id": company.account_id, "Name": company.name,
                "Website": "https://www." + company.domain, "Industry": company.industry,
                "Type": "Prospect", "NumberOfEmployees": company.employees,
                "AnnualRevenue": company.revenue, "BillingCountry": company.country,
                "OwnerId": company.account_owner, "CreatedDate": at,
            })
            if company.won_at:
                world.sf_change("Account", account, company.won_at, Type="Customer")
            if hs is not None:
                # The HubSpot–Salesforce sync writes the account id back a few minutes later.
                owner = next((r.owner_id for r in world.reps if r.sf_id == company.account_owner),
                             None)
                world.hubspot["companies"].change(
                    hs, max(at, hs.first_visible) + timedelta(minutes=rng.randint(2, 9)),
                    {"salesforceaccountid": company.account_id, "hubspot_owner_id": owner})


def build_world(config: SimulatorConfig) -> World:
    """The complete, deterministic history of one simulated company."""
    from simulator import dirt, profiles, story

    # The build allocates millions of small objects and frees none of them; the cyclic
    # garbage collector would rescan them all again and again (half the time at 100k).
    collecting = gc.isenabled()
    gc.disable()
    try:
        world = World(config)
        _cast(world)
        _people(world)
        plan = dirt.plan(world)
        for person in world.people:
            story.live(world, person)
        story.calendar(world)
        dirt.apply(world, plan)
        _company_records(world)
        profiles.thin(world, config.profile)
        world.finalize()
    finally:
        if collecting:
            gc.enable()
    return world


def utc(*args: int) -> datetime:
    """Shorthand for a UTC datetime."""
    return datetime(*args, tzinfo=UTC)
