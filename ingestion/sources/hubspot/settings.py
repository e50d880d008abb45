"""HubSpot's raw tables, its endpoints' page sizes and the limits it states.

The tables are declared as data (`records.Table`): the properties to request with their
column types, the cursor and the primary key of each raw table.
"""

from __future__ import annotations

from ingestion.sources.records import Table

BASE_URL = "https://api.hubapi.com"
# The largest page each endpoint serves; `page_size` can only lower them.
MAX_PAGE = {"search": 200, "list": 100, "submissions": 50, "events": 1000}
SEARCH_WINDOW = 10_000  # results one search query can page through
HISTORY_BATCH = 50  # batch read limit when propertiesWithHistory is asked for
SEARCH_PER_SECOND = 4  # per token; search answers carry no rate-limit headers to learn it from
HISTORY_PROPERTIES = ("lifecyclestage", "hs_lead_status", "hubspot_owner_id", "hubspotscore")
_OBJECT_FIELDS = "id, archived:bool, archivedAt:timestamp, createdAt:timestamp, updatedAt:timestamp"

CONTACTS = Table.declare(
    "contacts",
    "email, firstname, lastname, company, jobtitle, phone, lifecyclestage, hs_lead_status,"
    " hubspotscore:bigint, hubspot_owner_id, associatedcompanyid, hs_analytics_source,"
    " hs_analytics_source_data_1, hs_analytics_source_data_2, first_conversion_event_name,"
    " first_conversion_date:timestamp, recent_conversion_event_name,"
    " recent_conversion_date:timestamp, hs_lifecyclestage_subscriber_date:timestamp,"
    " hs_lifecyclestage_lead_date:timestamp,"
    " hs_lifecyclestage_marketingqualifiedlead_date:timestamp,"
    " hs_lifecyclestage_salesqualifiedlead_date:timestamp,"
    " hs_lifecyclestage_opportunity_date:timestamp, hs_lifecyclestage_customer_date:timestamp,"
    " hs_merged_object_ids, salesforceleadid, salesforcecontactid, createdate:timestamp,"
    " lastmodifieddate:timestamp",
    cursor="lastmodifieddate",
    extra=_OBJECT_FIELDS,
)
COMPANIES = Table.declare(
    "companies",
    "name, domain, industry, numberofemployees:bigint, annualrevenue:double, country,"
    " hubspot_owner_id, salesforceaccountid, createdate:timestamp,"
    " hs_lastmodifieddate:timestamp",
    cursor="hs_lastmodifieddate",
    extra=_OBJECT_FIELDS,
)
CONTACT_PROPERTY_HISTORY = Table.declare(
    "contact_property_history",
    "contact_id, property, value, timestamp:timestamp, source_type, source_id",
    primary_key=("contact_id", "property", "timestamp"),
)
OWNERS = Table.declare(
    "owners",
    "id, email, firstName, lastName, userId:bigint, teams:json, archived:bool,"
    " createdAt:timestamp, updatedAt:timestamp",
)
FORMS = Table.declare(
    "forms", "id, name, formType, archived:bool, createdAt:timestamp, updatedAt:timestamp"
)
FORM_SUBMISSIONS = Table.declare(
    "form_submissions",
    "conversion_id, form_id, submitted_at:timestamp, page_url, email, values:json",
    primary_key=("conversion_id",),
    cursor="submitted_at",
)
CAMPAIGNS = Table.declare(
    "campaigns",
    "hs_name, hs_start_date:date, hs_end_date:date, hs_campaign_status, hs_utm,"
    " hs_budget_items_sum_amount:double",
    extra="id, createdAt:timestamp, updatedAt:timestamp",
)
# Tasks: the sales team's own and the follow-ups the write-back creates (`leadbridge_key`, a
# portal property created at run time: HubSpot ignores a requested property that does not
# exist). `contact_ids` holds the associated contacts, `;`-separated like HubSpot's own
# multi-valued properties.
TASKS = Table.declare(
    "tasks",
    "hs_timestamp:timestamp, hs_task_status, hs_task_completion_date:timestamp, hs_task_type,"
    " hubspot_owner_id, hs_task_subject, leadbridge_key, hs_createdate:timestamp,"
    " hs_lastmodifieddate:timestamp",
    cursor="hs_lastmodifieddate",
    extra=f"{_OBJECT_FIELDS}, contact_ids",
)
EMAIL_EVENTS = Table.declare(
    "email_events",
    "id, type, recipient, emailCampaignId:bigint, created:timestamp, url,"
    " subscriptionStatus, portalId:bigint, appId:bigint",
    cursor="created",
)
