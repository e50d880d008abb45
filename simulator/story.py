"""One person's life in the funnel, written as timed changes to both systems.

Marketing first: a form fill or a list import creates the HubSpot contact, emails and
more forms raise `hubspotscore`, and crossing the MQL score makes the contact an MQL.
The HubSpot–Salesforce sync then creates a Lead a few minutes later (owned by a rep or
a queue) and writes the Salesforce ids back. Sales touches the lead (sometimes fast,
sometimes after the SLA, sometimes never), then converts it (Contact, Account,
Opportunity that moves through the stages, sometimes backwards, to Closed Won/Lost),
recycles it to nurturing (it may come back as an MQL), disqualifies it, or leaves it
open. A few people are prospected by sales and never exist in HubSpot.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from datetime import datetime, timedelta

from simulator.model import Campaign, Person, Rep, World
from simulator.store import Record

MQL_SCORE = 55
SYNC_MINUTES = (1, 12)  # how long the HubSpot–Salesforce sync takes to carry a change
STAGES = (("Prospecting", 10, "Pipeline"), ("Qualification", 10, "Pipeline"),
          ("Needs Analysis", 20, "Pipeline"), ("Proposal/Price Quote", 75, "Pipeline"),
          ("Negotiation/Review", 90, "Commit"))
WON, LOST = ("Closed Won", 100, "Closed"), ("Closed Lost", 0, "Omitted")
LEAD_SOURCE = {"PAID_SEARCH": "Paid Search", "ORGANIC_SEARCH": "Web", "SOCIAL_MEDIA": "Social",
               "EMAIL_MARKETING": "Email", "DIRECT_TRAFFIC": "Web", "REFERRALS": "Partner Referral",
               "OFFLINE": "Purchased List"}
SOURCE_FOR_CAMPAIGN = {"Webinar": "SOCIAL_MEDIA", "Email": "EMAIL_MARKETING",
                       "Advertisement": "PAID_SEARCH", "Content": "SOCIAL_MEDIA",
                       "Trade Show": "REFERRALS"}
FORM_FOR_CAMPAIGN = {"Webinar": "Webinar Registration", "Content": "Ebook Download",
                     "Advertisement": "Demo Request"}
OPEN, WORKING = "Open - Not Contacted", "Working - Contacted"
CONVERTED, NOT_CONVERTED, NURTURING = "Closed - Converted", "Closed - Not Converted", "Nurturing"


def business_time(at: datetime, world: World, rng: random.Random | None = None) -> datetime:
    """`at` if it falls in business hours (Mon–Fri 08–18 UTC), else the next morning."""
    if at.weekday() < 5 and 8 <= at.hour < 18:
        return at
    day = at if at.hour < 8 else at + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.replace(hour=8, minute=0, second=0) + timedelta(
        minutes=(rng or world.rng).randint(5, 120))


def office_hours(at: datetime, world: World) -> datetime:
    """Most B2B buyers act at work: usually move `at` into a weekday between 08 and 18.

    A quarter stay where they are, so evening and weekend hand-offs still happen.
    """
    if (at.weekday() < 5 and 8 <= at.hour < 18) or world.rng.random() < 0.25:
        return at
    day = at if at.hour < 8 else at + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.replace(hour=world.rng.randint(8, 17), minute=world.rng.randint(0, 59))


def _sync(world: World, at: datetime) -> datetime:
    return at + timedelta(minutes=world.rng.randint(*SYNC_MINUTES),
                          seconds=world.rng.randint(0, 59))


class _Journey:
    """The marketing state of one HubSpot contact while its story is written."""

    def __init__(self, world: World, person: Person) -> None:
        self.world, self.person = world, person
        self.score = 0
        self.stage = "subscriber"
        self.email_ok = person.email is not None
        self.campaigns: dict[str, tuple[Campaign, datetime | None]] = {}

    def set(self, at: datetime, source: str, source_id: str | None, **props: object) -> None:
        self.world.hs_change(self.person.contact, at, source, source_id, **props)

    def stage_to(self, at: datetime, stage: str, source: str, source_id: str | None,
                 **props: object) -> None:
        self.stage = stage
        self.set(at, source, source_id, lifecyclestage=stage,
                 **{f"hs_lifecyclestage_{stage}_date": at}, **props)

    def touched(self, campaign: Campaign | None, at: datetime, responded: bool) -> None:
        """Remember campaign touches; Salesforce campaign members mirror them."""
        if campaign is None:
            return
        known = self.campaigns.get(campaign.sf_id)
        first_response = known[1] if known else None
        if responded and first_response is None:
            first_response = at
        self.campaigns[campaign.sf_id] = (campaign, first_response)
        if self.person.lead is not None:
            _member(self.world, self.person, campaign, at, first_response)


def live(world: World, person: Person) -> None:
    """Write the whole story of one person into the world."""
    if "salesforce_only" in person.flags:
        _outbound(world, person)
    else:
        _marketing(world, person)


def _submission(world: World, person: Person, at: datetime, form: tuple[str, str],
                campaign: Campaign | None) -> None:
    path = {"Demo Request": "demo", "Ebook Download": "resources/ebook",
            "Webinar Registration": "webinars", "Newsletter Signup": "blog"}.get(form[1],
                                                                                "contact")
    url = f"https://www.leadbridge-demo.com/{path}"
    if campaign is not None:
        url += f"?utm_source=hubspot&utm_medium=cpc&utm_campaign={campaign.slug}"
    values = (("email", person.email), ("firstname", person.first),
              ("lastname", person.last), ("company", person.company.name),
              ("jobtitle", person.title))
    world.submissions[form[0]].add((at, world.guid(), values, url))


def _marketing(world: World, person: Person) -> None:
    rng = world.rng
    at = person.arrival = office_hours(person.arrival, world)
    journey = _Journey(world, person)
    campaign = world.campaign_at(at) if rng.random() < 0.6 else None
    person.campaign = campaign
    via_form = person.email is not None and rng.random() < 0.6
    if via_form:
        name = FORM_FOR_CAMPAIGN.get(campaign.kind if campaign else "")
        form = next((f for f in world.forms if f[1] == name), None) or rng.choice(world.forms)
        source = SOURCE_FOR_CAMPAIGN[campaign.kind] if campaign else rng.choice(
            ("ORGANIC_SEARCH", "DIRECT_TRAFFIC", "REFERRALS", "ORGANIC_SEARCH"))
        data_1 = campaign.slug if campaign else {"ORGANIC_SEARCH": "google",
                                                "DIRECT_TRAFFIC": "leadbridge-demo.com",
                                                "REFERRALS": "g2.com"}[source]
        data_2 = form[1]
        _submission(world, person, at, form, campaign)
        stage, origin = "lead", ("FORM", form[0])
        conversion = {"first_conversion_event_name": form[1], "first_conversion_date": at,
                      "recent_conversion_event_name": form[1], "recent_conversion_date": at}
    else:
        source, data_1, data_2 = "OFFLINE", "IMPORT", f"list-import-{at:%Y-%m}"
        stage, origin, conversion = "subscriber", ("IMPORT", f"import-{at:%Y%m}"), {}
    company = person.company
    company_id = None
    if rng.random() < 0.9:
        if company.hs_id is None:
            company.hs_id = world.hs_id("companies")
        if company.first_contact_at is None or at < company.first_contact_at:
            company.first_contact_at = at
        company_id = company.hs_id
    contact_id = world.hs_id("contacts")
    journey.score = rng.randint(3, 20)
    journey.stage = stage
    person.contact = world.hubspot["contacts"].create(contact_id, at, {
        "email": person.email, "firstname": person.first, "lastname": person.last,
        "company": company.name, "jobtitle": person.title, "phone": person.phone,
        "lifecyclestage": stage, f"hs_lifecyclestage_{stage}_date": at,
        "hubspotscore": journey.score, "associatedcompanyid": company_id,
        "hs_analytics_source": source, "hs_analytics_source_data_1": data_1,
        "hs_analytics_source_data_2": data_2, "createdate": at, "hs_object_id": contact_id,
        **conversion, "_src": origin,
    })
    journey.touched(campaign, at, responded=via_form)
    cycles = 0
    while True:
        at = _engage(journey, at)
        if at is None:
            return
        cycles += 1
        outcome, at = _sales(world, person, journey, at)
        if outcome != "recycled" or cycles >= 2 or rng.random() < 0.5:
            return
        # Recycled: the contact is back in nurturing with a lower score.
        journey.score = rng.randint(10, 25)
        journey.set(at + timedelta(hours=1), "CALCULATED", "score", hubspotscore=journey.score)
        at += timedelta(hours=1)


def _engage(journey: _Journey, at: datetime) -> datetime | None:
    """Emails and form fills until the contact becomes an MQL; None if it never does."""
    world, person, rng = journey.world, journey.person, journey.world.rng
    for _ in range(rng.randint(1, 10)):
        at = office_hours(at + timedelta(seconds=int(rng.expovariate(1 / (6 * 86400))) + 900),
                          world)
        if at > world.end:
            return None
        campaign = world.campaign_at(at)
        if person.email is None:
            gain = rng.randint(1, 4)  # page views of a known visitor
        elif journey.email_ok and campaign is not None and rng.random() < 0.65:
            gain = _email(journey, campaign, at)
        else:
            form = rng.choice(world.forms)
            via = campaign if rng.random() < 0.5 else None
            _submission(world, person, at, form, via)
            journey.set(at, "FORM", form[0], recent_conversion_event_name=form[1],
                        recent_conversion_date=at)
            if journey.stage == "subscriber":
                journey.stage_to(at, "lead", "FORM", form[0])
            journey.touched(via, at, responded=True)
            gain = rng.randint(10, 20)
        if gain:
            journey.score += gain
            journey.set(at + timedelta(seconds=30), "CALCULATED", "score",
                        hubspotscore=journey.score)
        if journey.score >= MQL_SCORE and journey.stage in ("subscriber", "lead"):
            mql_at = at + timedelta(minutes=rng.randint(1, 10))
            journey.stage_to(mql_at, "marketingqualifiedlead", "AUTOMATION_PLATFORM",
                             "workflow-mql", hs_lead_status="NEW")
            return mql_at
    return None


def _email(journey: _Journey, campaign: Campaign, at: datetime) -> int:
    """One marketing email to the contact: its events, and the score it earns."""
    world, person, rng = journey.world, journey.person, journey.world.rng
    email_id = rng.choice(campaign.email_ids)
    log = world.email_events
    sent_id = world.guid()
    base = (person.email, email_id, sent_id, at)
    log.add((at, sent_id, "SENT", *base, None))
    if rng.random() < 0.02:
        log.add((at + timedelta(seconds=4), world.guid(), "DEFERRED", *base, None))
    if rng.random() < 0.03:
        log.add((at + timedelta(seconds=9), world.guid(), "BOUNCE", *base, None))
        journey.email_ok = False
        return 0
    log.add((at + timedelta(seconds=8), world.guid(), "DELIVERED", *base, None))
    journey.touched(campaign, at, responded=False)
    if rng.random() > 0.5:
        return 0
    opened = at + timedelta(minutes=rng.randint(5, 2880))
    log.add((opened, world.guid(), "OPEN", *base, None))
    gain = 4
    if rng.random() < 0.4:
        clicked = opened + timedelta(seconds=rng.randint(5, 300))
        url = (f"https://www.leadbridge-demo.com/blog/{campaign.slug}"
               f"?utm_source=hubspot&utm_medium=email&utm_campaign={campaign.slug}")
        log.add((clicked, world.guid(), "CLICK", *base, url))
        journey.touched(campaign, clicked, responded=True)
        gain = rng.randint(8, 14)
    elif rng.random() < 0.04:
        log.add((opened + timedelta(minutes=1), world.guid(), "STATUSCHANGE", *base,
                 "UNSUBSCRIBED"))
        journey.email_ok = False
    return gain


def _pick_owner(world: World, person: Person, at: datetime) -> str:
    """A rep (or, for some inbound leads, a queue) to own a new lead."""
    active = [r for r in world.reps if not _left(world, r, at)]
    person.owner = world.rng.choice(active)
    if "salesforce_only" not in person.flags and world.rng.random() < 0.14:
        return world.rng.choice(world.queues)
    return person.owner.sf_id


def _left(world: World, rep: Rep, at: datetime) -> bool:
    return rep.sf_id in world.dirt.get("inactive_rep", ()) and at >= world.start + (
        world.end - world.start) * 0.6


def _member(world: World, person: Person, campaign: Campaign, at: datetime,
            responded: datetime | None) -> None:
    """Create or update the Salesforce CampaignMember of this person's lead."""
    member = person.members.get(campaign.sf_id)
    status = "Responded" if responded else "Sent"
    if member is None:
        fields = {"CampaignId": campaign.sf_id, "LeadId": person.lead.id, "Status": status,
                  "HasResponded": responded is not None,
                  "FirstRespondedDate": responded.date() if responded else None}
        if person.sf_contact is not None:
            fields["ContactId"] = person.sf_contact.id
        person.members[campaign.sf_id] = world.sf_create("CampaignMember", _sync(world, at),
                                                         fields)
    elif responded and not member.latest()["HasResponded"]:
        world.sf_change("CampaignMember", member, _sync(world, at), Status=status,
                        HasResponded=True, FirstRespondedDate=responded.date())


def _new_lead(world: World, person: Person, at: datetime, source: str,
              by: str | None) -> str:
    """Create the person's lead; `by` None means the owning rep created it by hand."""
    owner = _pick_owner(world, person, at)
    person.lead = world.sf_create("Lead", at, {
        "FirstName": person.first, "LastName": person.last,
        "Name": f"{person.first} {person.last}", "Email": person.email,
        "Company": person.company.name, "Title": person.title, "Phone": person.phone,
        "Status": OPEN, "LeadSource": source, "Rating": "Warm", "OwnerId": owner,
        "IsConverted": False,
    })
    world.lead_history(person.lead, at, "created", None, None, by or person.owner.sf_id)
    return owner


def _lead_set(world: World, person: Person, at: datetime, by: str, **fields: object) -> None:
    """Change the lead and write the LeadHistory rows Salesforce tracks for it."""
    current = person.lead.latest()
    for name in ("Status", "Rating"):
        if name in fields and fields[name] != current[name]:
            world.lead_history(person.lead, at, name, current[name], fields[name], by)
    if "OwnerId" in fields and fields["OwnerId"] != current["OwnerId"]:
        world.lead_history(person.lead, at, "Owner", current["OwnerId"], fields["OwnerId"], by)
    world.sf_change("Lead", person.lead, at, **fields)


def _sales(world: World, person: Person, journey: _Journey | None,
           mql_at: datetime) -> tuple[str, datetime]:
    """Hand-off, first touch and the outcome of one sales cycle."""
    integration = world.integration_user.sf_id
    lead_at = _sync(world, mql_at)
    if person.lead is None:
        source = LEAD_SOURCE[person.contact.changes[0][1]["hs_analytics_source"]]
        owner = _new_lead(world, person, lead_at, source, integration)
        journey.set(_sync(world, lead_at), "SALESFORCE", person.lead.id,
                    salesforceleadid=person.lead.id,
                    hubspot_owner_id=person.owner.owner_id if owner == person.owner.sf_id
                    else None)
        for campaign, responded in journey.campaigns.values():
            _member(world, person, campaign, lead_at, responded)
    else:
        owner = person.lead.latest()["OwnerId"]
        _lead_set(world, person, lead_at, integration, Status=OPEN, Rating="Warm")
    return _work(world, person, journey, lead_at, owner)


def _work(world: World, person: Person, journey: _Journey | None, lead_at: datetime,
          owner: str) -> tuple[str, datetime]:
    rng = world.rng
    rep = person.owner
    if owner in world.queues:
        if rng.random() < 0.3:
            person.flags.add("left_in_queue")
            return "open", lead_at
        at = business_time(lead_at + timedelta(hours=rng.randint(1, 20)), world)
        _lead_set(world, person, at, rep.sf_id, OwnerId=rep.sf_id)
        if journey is not None:
            journey.set(_sync(world, at), "SALESFORCE", person.lead.id,
                        hubspot_owner_id=rep.owner_id)
        lead_at = at
    roll = rng.random()
    if roll < 0.1:
        return "open", lead_at  # never touched: an SLA breach that stays open
    delay = (timedelta(minutes=rng.randint(4, 55)) if roll < 0.45 else
             timedelta(minutes=rng.randint(60, 240)) if roll < 0.7 else
             timedelta(hours=rng.randint(4, 30)) if roll < 0.9 else
             timedelta(days=rng.randint(1, 5)))
    at = business_time(lead_at + delay, world)
    if at > world.end:
        return "open", at
    _touch(world, person, at, rep, lead=True)
    _lead_set(world, person, at, rep.sf_id, Status=WORKING)
    if journey is not None:
        journey.set(_sync(world, at), "SALESFORCE", person.lead.id, hs_lead_status="IN_PROGRESS")
    for _ in range(rng.randint(0, 3)):
        at = business_time(at + timedelta(hours=rng.randint(6, 96)), world)
        if at > world.end:
            return "open", at
        _touch(world, person, at, rep, lead=True)
    at = business_time(at + timedelta(days=rng.randint(1, 14)), world)
    if at > world.end:
        return "open", at
    roll = rng.random()
    if roll < 0.4:
        _convert(world, person, journey, at, rep)
        return "converted", at
    if roll < 0.62:
        _lead_set(world, person, at, rep.sf_id, Status=NURTURING, Rating="Cold")
        if journey is not None:
            sync = _sync(world, at)
            journey.stage_to(sync, "lead", "SALESFORCE", person.lead.id,
                             hs_lead_status="BAD_TIMING")
        return "recycled", at
    if roll < 0.85:
        _lead_set(world, person, at, rep.sf_id, Status=NOT_CONVERTED, Rating="Cold")
        if journey is not None:
            journey.set(_sync(world, at), "SALESFORCE", person.lead.id,
                        hs_lead_status="UNQUALIFIED")
        return "disqualified", at
    _lead_set(world, person, at, rep.sf_id, Rating="Hot")
    return "open", at


def _touch(world: World, person: Person, at: datetime, rep: Rep, lead: bool,
           what: str | None = None) -> None:
    """A sales activity: a call or email task, or a meeting event."""
    rng = world.rng
    who = person.lead.id if lead else person.sf_contact.id
    if rng.random() < 0.15:
        start = business_time(at + timedelta(days=rng.randint(1, 4)), world)
        world.sf_create("Event", at, {
            "WhoId": who, "WhatId": what, "OwnerId": rep.sf_id, "Subject": "Discovery meeting",
            "Type": "Meeting", "StartDateTime": start,
            "EndDateTime": start + timedelta(minutes=rng.choice((30, 45, 60))),
        })
        return
    kind = "Call" if rng.random() < 0.6 else "Email"
    task = world.sf_create("Task", at, {
        "WhoId": who, "WhatId": what, "OwnerId": rep.sf_id,
        "Subject": "Call" if kind == "Call" else "Email: Following up",
        "Type": kind, "TaskSubtype": kind, "Status": "Completed", "Priority": "Normal",
        "IsClosed": True, "ActivityDate": at.date(), "CompletedDateTime": at,
    })
    if rng.random() < 0.02:
        # Logged by mistake and deleted: counts must ignore it.
        world.sf_change("Task", task, at + timedelta(hours=2), IsDeleted=True)
        world.dirt.setdefault("deleted_task", []).append(task.id)


def _convert(world: World, person: Person, journey: _Journey | None, at: datetime,
             rep: Rep) -> None:
    rng = world.rng
    company = person.company
    if company.account_id is None:
        company.account_id = world.sf_id("Account")
        company.account_owner = rep.sf_id
    if company.account_at is None or at < company.account_at:
        company.account_at = at
    lead_source = person.lead.latest()["LeadSource"]
    person.sf_contact = world.sf_create("Contact", at, {
        "AccountId": company.account_id, "FirstName": person.first, "LastName": person.last,
        "Name": f"{person.first} {person.last}", "Email": person.lead.changes[0][1]["Email"],
        "Title": person.title, "Phone": person.phone, "OwnerId": rep.sf_id,
        "LeadSource": lead_source,
    })
    amount = float(rng.choice((12, 18, 24, 36, 48, 60, 90, 120)) * 1000)
    close = (at + timedelta(days=rng.randint(30, 90))).date()
    stage, probability, forecast = STAGES[0]
    opp = world.sf_create("Opportunity", at, {
        "AccountId": company.account_id, "ContactId": person.sf_contact.id,
        "Name": f"{company.name} - New Business", "StageName": stage, "Amount": amount,
        "Probability": float(probability), "CloseDate": close, "IsClosed": False,
        "IsWon": False, "OwnerId": rep.sf_id,
        "CampaignId": person.campaign.sf_id if person.campaign else None,
        "LeadSource": lead_source, "Type": "New Business",
    })
    person.opportunity = opp
    _opp_history(world, opp, at, rep)
    world.sf_create("OpportunityContactRole", at, {
        "OpportunityId": opp.id, "ContactId": person.sf_contact.id,
        "Role": rng.choice(("Decision Maker", "Economic Buyer", "Evaluator")), "IsPrimary": True,
    })
    _lead_set(world, person, at, rep.sf_id, Status=CONVERTED, IsConverted=True,
              ConvertedDate=at.date(), ConvertedContactId=person.sf_contact.id,
              ConvertedAccountId=company.account_id, ConvertedOpportunityId=opp.id)
    world.lead_history(person.lead, at, "leadConverted", None, None, rep.sf_id)
    for member in person.members.values():
        world.sf_change("CampaignMember", member, at, ContactId=person.sf_contact.id)
    if journey is not None:
        sync = _sync(world, at)
        journey.stage_to(sync, "salesqualifiedlead", "SALESFORCE", person.lead.id,
                         salesforcecontactid=person.sf_contact.id, hs_lead_status="OPEN_DEAL")
        journey.stage_to(sync + timedelta(hours=1), "opportunity", "SALESFORCE", opp.id)
    _pipeline(world, person, journey, opp, at, rep)


def _opp_history(world: World, opp: Record, at: datetime, rep: Rep) -> None:
    state = opp.latest()
    visible = at + timedelta(hours=world.rng.randint(26, 60)) if world.rng.random() < 0.04 \
        else None
    world.sf_create("OpportunityHistory", at, {
        "OpportunityId": opp.id, "StageName": state["StageName"], "Amount": state["Amount"],
        "Probability": state["Probability"], "CloseDate": state["CloseDate"],
        "ForecastCategory": _forecast(state["StageName"]), "CreatedById": rep.sf_id,
    }, visible)


def _forecast(stage: str) -> str:
    return next((f for s, _, f in (*STAGES, WON, LOST) if s == stage), "Pipeline")


def _pipeline(world: World, person: Person, journey: _Journey | None, opp: Record,
              at: datetime, rep: Rep) -> None:
    """Move the opportunity through the stages until it is won, lost or time runs out."""
    rng = world.rng
    index = 0
    regressed = False
    while True:
        at = business_time(at + timedelta(days=rng.randint(3, 16)), world)
        if at > world.end:
            return
        roll = rng.random()
        if roll < 0.08:
            stage, probability, _ = LOST
        elif roll < 0.2 and index >= 2 and not regressed:
            regressed = True
            index -= 1
            stage, probability, _ = STAGES[index]
            world.dirt.setdefault("stage_regression", []).append(opp.id)
        elif index == len(STAGES) - 1:
            stage, probability, _ = WON if rng.random() < 0.75 else LOST
        else:
            index += 1
            stage, probability, _ = STAGES[index]
        fields: dict[str, object] = {"StageName": stage, "Probability": float(probability)}
        if stage == "Proposal/Price Quote" and rng.random() < 0.4:
            fields["Amount"] = float(round(opp.latest()["Amount"] * rng.uniform(0.8, 1.3), -2))
        closed = stage in (WON[0], LOST[0])
        if closed:
            fields.update(IsClosed=True, IsWon=stage == WON[0], CloseDate=at.date())
        world.sf_change("Opportunity", opp, at, **fields)
        _opp_history(world, opp, at, rep)
        if rng.random() < 0.5:
            _touch(world, person, at - timedelta(hours=1), rep, lead=False, what=opp.id)
        if closed:
            if stage == WON[0]:
                company = person.company
                if company.won_at is None or at < company.won_at:
                    company.won_at = at
                if journey is not None:
                    journey.stage_to(_sync(world, at), "customer", "SALESFORCE", opp.id)
            return


def _outbound(world: World, person: Person) -> None:
    """A lead a rep prospected directly in Salesforce; HubSpot never hears of it."""
    at = business_time(person.arrival, world)
    source = world.rng.choice(("Outbound", "Trade Show"))
    owner = _new_lead(world, person, at, source, None)
    _work(world, person, None, at, owner)


def calendar(world: World) -> None:
    """Every business day some reps plan the next step with one of the people they are in
    touch with: a meeting, or a call task due in a few business days (done on its due day,
    or never).
    On any night the calendar holds meetings that have not started and open tasks: plans,
    not history, as in real orgs.

    Its own generator leaves the world's draws as they were."""
    plan = random.Random(f"{world.config.seed}:calendar")
    # a rep plans a next step with people already in conversation: after a first touch
    touched: dict[str, datetime] = {}
    for sobject in ("Task", "Event"):
        for record in world.salesforce[sobject].records.values():
            fields = record.changes[0][1]
            who, at = fields.get("WhoId"), record.first_visible
            if who is not None and (who not in touched or at < touched[who]):
                touched[who] = at
    owned: dict[str, list[tuple[datetime, str]]] = {rep.sf_id: [] for rep in world.reps}
    for person in world.people:
        record = person.sf_contact or person.lead
        ids = [r.id for r in (person.lead, person.sf_contact) if r is not None]
        first = min((touched[i] for i in ids if i in touched), default=None)
        if person.owner is not None and record is not None and first is not None:
            owned[person.owner.sf_id].append((first, record.id))
    for records in owned.values():
        records.sort()
    day = world.start.replace(hour=9, minute=0, second=0, microsecond=0)
    while day <= world.end:
        booked = day + timedelta(minutes=plan.randint(0, 8 * 60))
        reps = [r for r in world.reps if owned[r.sf_id] and owned[r.sf_id][0][0] <= booked
                and not _left(world, r, booked)]
        # at least one plan every business day, however small the company
        planning = [r for r in reps if plan.random() < 0.3] or reps[:1]
        for rep in planning if day.weekday() < 5 else ():
            known = bisect_right(owned[rep.sf_id], (booked, "~"))
            who = owned[rep.sf_id][plan.randrange(known)][1]
            _plan_next_step(world, plan, rep, who, booked)
        day += timedelta(days=1)


def _plan_next_step(world: World, plan: random.Random, rep: Rep, who: str,
                    booked: datetime) -> None:
    when = business_time(booked + timedelta(days=plan.randint(2, 10)), world, plan)
    if plan.random() < 0.6:
        world.sf_create("Event", booked, {
            "WhoId": who, "WhatId": None, "OwnerId": rep.sf_id,
            "Subject": "Follow-up meeting", "Type": "Meeting", "StartDateTime": when,
            "EndDateTime": when + timedelta(minutes=plan.choice((30, 45, 60))),
        })
        return
    task = world.sf_create("Task", booked, {
        "WhoId": who, "WhatId": None, "OwnerId": rep.sf_id, "Subject": "Follow-up call",
        "Type": "Call", "TaskSubtype": "Call", "Status": "Not Started", "Priority": "Normal",
        "IsClosed": False, "ActivityDate": when.date(), "CompletedDateTime": None,
    })
    if plan.random() < 0.8:
        world.sf_change("Task", task, when, Status="Completed", IsClosed=True,
                        CompletedDateTime=when)
