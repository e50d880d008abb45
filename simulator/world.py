"""Building the simulated company: reference data, the cast and `build_world`.

`build_world(config)` is the one entry point. It lays out the cast (sales reps and
queues, campaigns, forms, target companies, people) in a `model.World`, lets `story`
play out each person's life as timed changes, lets `dirt` add the mess real CRMs have,
and then freezes everything in time order. The same config always yields the same
world: randomness comes from one `random.Random(seed)` consumed in a fixed order (the
reps' calendar of planned meetings and calls draws from its own, seeded by the seed).
"""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta

from simulator import dirt, profiles, story
from simulator.config import SimulatorConfig
from simulator.model import Campaign, Company, Person, Rep, World
from simulator.store import EventLog

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
