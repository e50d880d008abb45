"""What fields each simulated object has, named and typed as the real APIs name them.

The world fills these fields, the describe/properties endpoints list them and SOQL
validates against them, so a field exists in one place only.
"""

from __future__ import annotations

# HubSpot properties: name → (label, type, fieldType).
_DT = ("datetime", "date")
HUBSPOT_PROPERTIES: dict[str, dict[str, tuple[str, str, str]]] = {
    "contacts": {
        "email": ("Email", "string", "text"),
        "firstname": ("First Name", "string", "text"),
        "lastname": ("Last Name", "string", "text"),
        "company": ("Company Name", "string", "text"),
        "jobtitle": ("Job Title", "string", "text"),
        "phone": ("Phone Number", "string", "phonenumber"),
        "lifecyclestage": ("Lifecycle Stage", "enumeration", "radio"),
        "hs_lead_status": ("Lead Status", "enumeration", "radio"),
        "hubspotscore": ("HubSpot Score", "number", "calculation_score"),
        "hubspot_owner_id": ("Contact owner", "enumeration", "select"),
        "associatedcompanyid": ("Primary Associated Company ID", "number", "number"),
        "hs_analytics_source": ("Original Source", "enumeration", "select"),
        "hs_analytics_source_data_1": ("Original Source Drill-Down 1", "string", "text"),
        "hs_analytics_source_data_2": ("Original Source Drill-Down 2", "string", "text"),
        "first_conversion_event_name": ("First Conversion", "string", "text"),
        "first_conversion_date": ("First Conversion Date", *_DT),
        "recent_conversion_event_name": ("Recent Conversion", "string", "text"),
        "recent_conversion_date": ("Recent Conversion Date", *_DT),
        "hs_lifecyclestage_subscriber_date": ("Became a Subscriber Date", *_DT),
        "hs_lifecyclestage_lead_date": ("Became a Lead Date", *_DT),
        "hs_lifecyclestage_marketingqualifiedlead_date": (
            "Became a Marketing Qualified Lead Date", *_DT),
        "hs_lifecyclestage_salesqualifiedlead_date": ("Became a Sales Qualified Lead Date", *_DT),
        "hs_lifecyclestage_opportunity_date": ("Became an Opportunity Date", *_DT),
        "hs_lifecyclestage_customer_date": ("Became a Customer Date", *_DT),
        "hs_merged_object_ids": ("Merged Contact IDs", "enumeration", "checkbox"),
        "salesforceleadid": ("Salesforce Lead ID", "string", "text"),
        "salesforcecontactid": ("Salesforce Contact ID", "string", "text"),
        "createdate": ("Create Date", *_DT),
        "lastmodifieddate": ("Last Modified Date", *_DT),
        "hs_object_id": ("Record ID", "number", "number"),
    },
    "companies": {
        "name": ("Company name", "string", "text"),
        "domain": ("Company Domain Name", "string", "text"),
        "industry": ("Industry", "enumeration", "select"),
        "numberofemployees": ("Number of Employees", "number", "number"),
        "annualrevenue": ("Annual Revenue", "number", "number"),
        "country": ("Country/Region", "string", "text"),
        "hubspot_owner_id": ("Company owner", "enumeration", "select"),
        "salesforceaccountid": ("Salesforce Account ID", "string", "text"),
        "createdate": ("Create Date", *_DT),
        "hs_lastmodifieddate": ("Last Modified Date", *_DT),
        "hs_object_id": ("Record ID", "number", "number"),
    },
    # Tasks exist only once a client writes them (simulator/hubspot_writes.py).
    "tasks": {
        "hs_timestamp": ("Due date", *_DT),
        "hs_task_subject": ("Task Title", "string", "text"),
        "hs_task_body": ("Notes", "string", "html"),
        "hs_task_status": ("Task Status", "enumeration", "select"),
        "hs_task_priority": ("Priority", "enumeration", "select"),
        "hs_task_type": ("Task Type", "enumeration", "select"),
        "hubspot_owner_id": ("Assigned to", "enumeration", "select"),
        "hs_task_completion_date": ("Completed at", *_DT),
        "hs_createdate": ("Create Date", *_DT),
        "hs_lastmodifieddate": ("Last Modified Date", *_DT),
        "hs_object_id": ("Record ID", "number", "number"),
    },
}
# The CRM cursor property of each object, also stamped on every change.
HUBSPOT_MODIFIED = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate",
                    "tasks": "hs_lastmodifieddate"}
HUBSPOT_CREATED = {"contacts": "createdate", "companies": "createdate", "tasks": "hs_createdate"}
# The choices of the enumeration properties clients write (others are not validated).
HUBSPOT_OPTIONS = {
    "hs_task_status": ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"),
    "hs_task_priority": ("NONE", "LOW", "MEDIUM", "HIGH"),
    "hs_task_type": ("TODO", "CALL", "EMAIL", "LINKED_IN", "MEETING"),
}
# Returned by search and list even when not asked for, as HubSpot does.
HUBSPOT_DEFAULT_PROPERTIES = {
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate",
                 "lastname"),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "tasks": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
}
# Properties whose changes `propertiesWithHistory` can return.
HUBSPOT_HISTORY_PROPERTIES = ("lifecyclestage", "hs_lead_status", "hubspot_owner_id",
                              "hubspotscore")
# The custom property the `new_column` fault adds.
HUBSPOT_NEW_COLUMN = ("lb_region", "Region", "enumeration", "select")

_AUDIT = "IsDeleted:boolean CreatedDate:datetime LastModifiedDate:datetime SystemModstamp:datetime"


def _fields(spec: str) -> dict[str, str]:
    out = {}
    for item in spec.split():
        name, _, kind = item.partition(":")
        out[name] = kind or "string"
    return out


# Salesforce sObject → {field: describe type}; unmarked fields are strings.
SALESFORCE_FIELDS: dict[str, dict[str, str]] = {
    "Lead": _fields(
        "Id:id FirstName LastName Name Email:email Company Title Phone:phone Status:picklist"
        " LeadSource:picklist Rating:picklist OwnerId:reference IsConverted:boolean"
        " ConvertedDate:date ConvertedContactId:reference ConvertedAccountId:reference"
        " ConvertedOpportunityId:reference MasterRecordId:reference " + _AUDIT),
    "Contact": _fields(
        "Id:id AccountId:reference FirstName LastName Name Email:email Title Phone:phone"
        " OwnerId:reference LeadSource:picklist MasterRecordId:reference " + _AUDIT),
    "Account": _fields(
        "Id:id Name Website:url Industry:picklist Type:picklist NumberOfEmployees:int"
        " AnnualRevenue:currency BillingCountry OwnerId:reference MasterRecordId:reference "
        + _AUDIT),
    "Opportunity": _fields(
        "Id:id AccountId:reference ContactId:reference Name StageName:picklist"
        " Amount:currency Probability:percent CloseDate:date IsClosed:boolean IsWon:boolean"
        " OwnerId:reference CampaignId:reference LeadSource:picklist Type:picklist " + _AUDIT),
    "OpportunityContactRole": _fields(
        "Id:id OpportunityId:reference ContactId:reference Role:picklist IsPrimary:boolean "
        + _AUDIT),
    "LeadHistory": _fields(
        "Id:id LeadId:reference Field:picklist DataType:picklist OldValue:anyType"
        " NewValue:anyType IsDeleted:boolean CreatedById:reference CreatedDate:datetime"),
    "OpportunityHistory": _fields(
        "Id:id OpportunityId:reference StageName:picklist Amount:currency"
        " Probability:percent CloseDate:date ForecastCategory:picklist IsDeleted:boolean"
        " CreatedById:reference CreatedDate:datetime SystemModstamp:datetime"),
    "Task": _fields(
        "Id:id WhoId:reference WhatId:reference OwnerId:reference Subject:combobox"
        " Type:picklist TaskSubtype:picklist Status:picklist Priority:picklist"
        " ActivityDate:date Description:textarea IsClosed:boolean CompletedDateTime:datetime "
        + _AUDIT),
    "Event": _fields(
        "Id:id WhoId:reference WhatId:reference OwnerId:reference Subject:combobox"
        " Type:picklist StartDateTime:datetime EndDateTime:datetime " + _AUDIT),
    "User": _fields(
        "Id:id Name FirstName LastName Email:email Title Department IsActive:boolean"
        " UserType:picklist CreatedDate:datetime LastModifiedDate:datetime"
        " SystemModstamp:datetime"),
    "Campaign": _fields(
        "Id:id Name Type:picklist Status:picklist StartDate:date EndDate:date"
        " BudgetedCost:currency ActualCost:currency ParentId:reference IsActive:boolean "
        + _AUDIT),
    "CampaignMember": _fields(
        "Id:id CampaignId:reference LeadId:reference ContactId:reference Status:picklist"
        " HasResponded:boolean FirstRespondedDate:date " + _AUDIT),
}
# Key prefixes of Salesforce ids; `00G` (queues) owns records but is no queryable object.
SALESFORCE_PREFIX = {
    "Lead": "00Q", "Contact": "003", "Account": "001", "Opportunity": "006",
    "OpportunityContactRole": "00K", "LeadHistory": "017", "OpportunityHistory": "008",
    "Task": "00T", "Event": "00U", "User": "005", "Campaign": "701", "CampaignMember": "00v",
    "Group": "00G",
}
# Fields stamped with the change time on every change of each object.
SALESFORCE_TOUCH = {
    name: tuple(f for f in ("LastModifiedDate", "SystemModstamp") if f in fields)
    for name, fields in SALESFORCE_FIELDS.items()
}
# Custom fields an admin can create: kind → (describe type, External ID and unique).
CUSTOM_FIELD_KINDS = {"text": ("string", False), "date": ("date", False),
                      "external_id": ("string", True)}
_PERSON_FIELDS = {"Leadbridge_Key__c": "external_id", "Leadbridge_Stage__c": "text",
                  "Leadbridge_MQL_Date__c": "date", "Leadbridge_SLA_Status__c": "text",
                  "Leadbridge_Person_Key__c": "text"}
# The custom fields the write-back needs (SimulatorConfig.salesforce_custom_fields).
LEADBRIDGE_FIELDS = {"Task": {"Leadbridge_Key__c": "external_id"},
                     "Lead": dict(_PERSON_FIELDS), "Contact": dict(_PERSON_FIELDS)}
# The field (Salesforce) and property (HubSpot) that mark a record as Leadbridge's.
LEADBRIDGE_KEY = {"salesforce": "Leadbridge_Key__c", "hubspot": "leadbridge_key"}
# The custom field the `new_column` fault adds to every object.
SALESFORCE_NEW_COLUMN = ("Region__c", "picklist")
REGIONS = ("EMEA", "NA", "APAC", "LATAM")


def salesforce_defaults(sobject: str) -> dict[str, object]:
    """A record with every field unset (booleans false, as Salesforce never sends null)."""
    return {name: (False if kind == "boolean" else None)
            for name, kind in SALESFORCE_FIELDS[sobject].items()}


def hubspot_defaults(object_type: str) -> dict[str, object]:
    """An object with every property unset."""
    return dict.fromkeys(HUBSPOT_PROPERTIES[object_type])


def external_ids(custom_fields: dict[str, dict[str, str]], sobject: str) -> set[str]:
    """The External ID fields among an org's custom fields of `sobject`."""
    return {name for name, kind in custom_fields.get(sobject, {}).items()
            if CUSTOM_FIELD_KINDS[kind][1]}
