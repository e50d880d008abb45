"""Lead history: one person's whole cross-system timeline (touches, stage changes, owner
changes, each with its system and record id), stage intervals and identity links.
Anyone finds a person by person key or record id; by name or email only a connection
allowed to read contact details (dashboard.access)."""

import pandas as pd
import streamlit as st

from dashboard.access import CONTACTS_TABLE, contact_access
from dashboard.page import start

MATCHES_SHOWN = 50

marts = start("Lead history")
access = contact_access(marts)
st.caption(
    "Every record of one person across HubSpot and Salesforce, as the identity rules join "
    "them: what happened, when, in which system and record."
)
if access.allowed:
    label = "Person key, record id, name or email"
else:
    label = "Person key or record id"
    st.caption(f"Search by name or email is not available here: {access.reason}.")
typed = st.text_input(label, placeholder="e.g. a Salesforce lead id 00Q… or a person key").strip()
if not typed:
    st.info(f"Type a {label.lower()} to see that person's history.")
    st.stop()

by_record = (
    "select person_id from {marts}.dim_person where person_id = {typed} "
    "or hubspot_contact_id = {typed} or salesforce_lead_id = {typed} "
    "or salesforce_contact_id = {typed} "
    "union select person_id from {marts}.fct_identity_links "
    "where record_id_a = {typed} or record_id_b = {typed} "
    "union select person_id from {marts}.fct_lead_events where source_record_id = {typed}"
)
if access.allowed:
    # a name matches by any part of it, an email only whole (normalized as staging does)
    by_record += (
        f" union select person_id from {access.schema}.{CONTACTS_TABLE} "
        "where lower(full_name) like {pattern} or email = {email}"
    )
found = marts.frame(
    f"select person_id from ({by_record}) as found order by person_id",
    typed=typed,
    pattern="%" + typed.lower() + "%",
    email=typed.lower(),
)
if found.empty:
    st.info(f"No person matches {typed!r}.")
    st.stop()
people = found["person_id"].tolist()
if len(people) > 1:
    shown = people[:MATCHES_SHOWN]
    st.caption(
        f"{len(people):,} people match; the first {len(shown)} are listed."
        if len(people) > len(shown)
        else f"{len(people)} people match."
    )
    person = st.selectbox("Person", options=shown)
else:
    person = people[0]

profile = marts.frame(
    "select person.person_id, person.current_stage, person.current_stage_since, "
    "coalesce(owner.owner_name, person.owner_key) as owner, person.source_channel, "
    "person.hubspot_contact_id, person.salesforce_lead_id, person.salesforce_contact_id, "
    "person.hubspot_record_count, person.salesforce_record_count, person.identity_rules, "
    "person.created_at "
    "from {marts}.dim_person as person "
    "left join {marts}.dim_owner as owner on owner.owner_key = person.owner_key "
    "where person.person_id = {person}",
    person=person,
)
if profile.empty:
    # an event or link whose person the published dim_person lacks: say so, not a traceback
    st.info(f"The person {person} has records but no row in the published people.")
    st.stop()
profile = profile.iloc[0]


def shown(value) -> str:
    """A profile value as text, the dash for a missing one."""
    return "–" if pd.isna(value) or value == "" else str(value)


def count(value) -> int:
    return 0 if pd.isna(value) else int(value)


columns = st.columns(4)
columns[0].metric("Current stage", shown(profile["current_stage"]))
columns[1].metric("Owner", shown(profile["owner"]))
columns[2].metric("Source", shown(profile["source_channel"]))
columns[3].metric(
    "Records (HubSpot / Salesforce)",
    f"{count(profile['hubspot_record_count'])} / {count(profile['salesforce_record_count'])}",
)
st.caption(
    f"Person key `{person}` · HubSpot contact {shown(profile['hubspot_contact_id'])} · "
    f"Salesforce lead {shown(profile['salesforce_lead_id'])} · Salesforce contact "
    f"{shown(profile['salesforce_contact_id'])} · joined by {shown(profile['identity_rules'])}"
)
if access.allowed:
    contacts = marts.frame(
        'select full_name as name, email, phone, job_title as "job title", '
        'company_name as company, primary_record_type as "from record", '
        f'primary_record_id as "record id" from {access.schema}.{CONTACTS_TABLE} '
        "where person_id = {person}",
        person=person,
    )
    st.subheader("Contact")
    st.dataframe(contacts, hide_index=True)
else:
    st.caption(f"Contact details are hidden: {access.reason}.")

events = marts.frame(
    'select event.occurred_at as "when", event.event_category as category, '
    "event.event_type as event, event.canonical_stage as stage, "
    "coalesce(owner.owner_name, event.owner_key) as owner, "
    "campaign.campaign_name as campaign, event.opportunity_id as opportunity, "
    'event.source_system as system, event.source_table as "table", '
    'event.source_record_id as "record id", event.event_detail as detail '
    "from {marts}.fct_lead_events as event "
    "left join {marts}.dim_owner as owner on owner.owner_key = event.owner_key "
    "left join {marts}.dim_campaign as campaign on campaign.campaign_key = event.campaign_key "
    "where event.person_id = {person} order by event.occurred_at, event.event_id",
    person=person,
)
# a meeting booked for next week is history too, but has not happened yet
published_at = pd.Timestamp(marts.publication.published_at)
upcoming = events[pd.to_datetime(events["when"]) > published_at]
past = events.drop(upcoming.index)
st.subheader("Timeline")
st.metric("Events", f"{len(past):,}")
st.dataframe(past, hide_index=True)
if not upcoming.empty:
    st.subheader(f"Scheduled ({len(upcoming):,})")
    st.caption("Activities dated after the publication: booked, not yet happened.")
    st.dataframe(upcoming, hide_index=True)

stages = marts.frame(
    "select canonical_stage as stage, stage_kind as kind, cycle_number as cycle, "
    'valid_from as "from", valid_to as "to", hours_in_stage as hours, '
    'is_current as "current", entered_by_rule as "entered by", '
    'source_system as system, source_record_id as "record id" '
    "from {marts}.fct_lifecycle_stages "
    "where person_id = {person} order by valid_from, stage_order",
    person=person,
)
st.subheader(f"Stage intervals ({len(stages):,})")
st.dataframe(stages, hide_index=True)

links = marts.frame(
    'select link_rule as rule, record_type_a as "record", record_id_a as id, '
    'record_type_b as "linked record", record_id_b as "linked id", '
    'record_b_exists as "linked record exists" '
    "from {marts}.fct_identity_links where person_id = {person} order by link_rule",
    person=person,
)
st.subheader(f"How the records were joined ({len(links):,} links)")
st.dataframe(links, hide_index=True)
