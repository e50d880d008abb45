"""Org profiles: the simulated company thinned to what a young or unused org holds.

`full` is the company as built. `sparse` keeps only people as leads and contacts (HubSpot
contacts and owners; Salesforce Leads, their history, Contacts and Users): no accounts,
opportunities, activities, forms, emails or campaigns, and nothing pointing at them; its
leads were never converted. `empty` keeps only the users and owners every org has. A
real first night often looks like one of these.
"""

from __future__ import annotations

from simulator.model import World
from simulator.store import EventLog

_KEPT = {
    "sparse": ({"contacts", "owners"}, {"Lead", "LeadHistory", "Contact", "User"}),
    "empty": ({"owners"}, {"User"}),
}
# What a lead conversion writes; a sparse org has no accounts, so it converted nothing.
_CONVERSION = ("ConvertedDate", "ConvertedContactId", "ConvertedAccountId",
               "ConvertedOpportunityId")
_CONVERTED_STATUS, _UNCONVERTED_STATUS = "Closed - Converted", "Qualified"


def thin(world: World, profile: str) -> None:
    """Drop from `world` what an org of `profile` does not have (before it is frozen)."""
    if profile == "full":
        return
    hubspot, salesforce = _KEPT[profile]
    for stores, kept in ((world.hubspot, hubspot), (world.salesforce, salesforce)):
        for name, store in stores.items():
            if name not in kept:
                store.records.clear()
    world.submissions = {form_id: EventLog() for form_id in world.submissions}
    world.email_events = EventLog()
    for record in world.hubspot["contacts"].records.values():
        for _, fields in record.changes:
            if "associatedcompanyid" in fields:
                fields["associatedcompanyid"] = None
    for record in world.salesforce["Contact"].records.values():
        for _, fields in record.changes:
            if "AccountId" in fields:
                fields["AccountId"] = None
    for record in world.salesforce["Lead"].records.values():
        for _, fields in record.changes:
            if fields.get("IsConverted"):
                fields["IsConverted"] = False
            for name in _CONVERSION:
                if name in fields:
                    fields[name] = None
            if fields.get("Status") == _CONVERTED_STATUS:
                fields["Status"] = _UNCONVERTED_STATUS
    history = world.salesforce["LeadHistory"].records
    conversions = [i for i, r in history.items() if r.changes[0][1].get("Field") == "leadConverted"]
    for record_id in conversions:
        del history[record_id]
    for record in history.values():
        for _, fields in record.changes:
            for side in ("OldValue", "NewValue"):
                if fields.get(side) == _CONVERTED_STATUS:
                    fields[side] = _UNCONVERTED_STATUS
