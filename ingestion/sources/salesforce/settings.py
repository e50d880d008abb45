"""Salesforce's raw tables (one per sObject), its API version and query page sizes.

`OBJECTS` maps each sObject to its declared raw table (`records.Table`): the fields to
read with their column types, the cursor and the primary key. Edit it to load another
object; nothing else changes.
"""

from __future__ import annotations

from ingestion.sources.records import Table

API_VERSION = "v61.0"
MAX_BATCH_SIZE = 2000  # records per query page; Salesforce accepts 200-2000
_AUDIT = "IsDeleted:bool, CreatedDate:timestamp, SystemModstamp:timestamp"

# sObject → raw table. Edit here to load another object; nothing else changes.
OBJECTS: dict[str, Table] = {
    "Lead": Table.declare(
        "lead",
        "Id, FirstName, LastName, Email, Company, Title, Phone, Status, LeadSource, Rating,"
        " OwnerId, IsConverted:bool, ConvertedDate:date, ConvertedContactId,"
        " ConvertedAccountId, ConvertedOpportunityId, MasterRecordId,"
        f" LastModifiedDate:timestamp, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "Contact": Table.declare(
        "contact",
        "Id, AccountId, FirstName, LastName, Email, Title, Phone, OwnerId, LeadSource,"
        f" MasterRecordId, LastModifiedDate:timestamp, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "Account": Table.declare(
        "account",
        "Id, Name, Website, Industry, Type, NumberOfEmployees:bigint, AnnualRevenue:double,"
        f" BillingCountry, OwnerId, MasterRecordId, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "Opportunity": Table.declare(
        "opportunity",
        "Id, AccountId, ContactId, Name, StageName, Amount:double, Probability:double,"
        " CloseDate:date, IsClosed:bool, IsWon:bool, OwnerId, CampaignId, LeadSource, Type,"
        f" LastModifiedDate:timestamp, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "OpportunityContactRole": Table.declare(
        "opportunity_contact_role",
        f"Id, OpportunityId, ContactId, Role, IsPrimary:bool, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "LeadHistory": Table.declare(
        "lead_history",
        "Id, LeadId, Field, OldValue, NewValue, IsDeleted:bool, CreatedById, CreatedDate:timestamp",
        cursor="CreatedDate",
        primary_key=("Id",),
    ),
    "OpportunityHistory": Table.declare(
        "opportunity_history",
        "Id, OpportunityId, StageName, Amount:double, Probability:double, CloseDate:date,"
        f" CreatedById, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "Task": Table.declare(
        "task",
        "Id, WhoId, WhatId, OwnerId, Subject, Type, TaskSubtype, Status, Priority,"
        f" IsClosed:bool, ActivityDate:date, CompletedDateTime:timestamp, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "Event": Table.declare(
        "event",
        "Id, WhoId, WhatId, OwnerId, Subject, Type, StartDateTime:timestamp,"
        f" EndDateTime:timestamp, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "User": Table.declare(
        "user",
        "Id, Name, FirstName, LastName, Email, Title, Department, IsActive:bool,"
        " CreatedDate:timestamp, SystemModstamp:timestamp",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "Campaign": Table.declare(
        "campaign",
        "Id, Name, Type, Status, StartDate:date, EndDate:date, BudgetedCost:double,"
        f" ActualCost:double, ParentId, IsActive:bool, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "CampaignMember": Table.declare(
        "campaign_member",
        "Id, CampaignId, LeadId, ContactId, Status, HasResponded:bool,"
        f" FirstRespondedDate:date, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
}

# Objects without IsDeleted are read with `query`; all others with `queryAll`.
NO_DELETED_FLAG = {"User"}
