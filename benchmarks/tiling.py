"""1M people without 1M people's HTTP traffic: tile a smaller world's raw tables.

A world loaded through the real connectors is copied `copies` times inside DuckDB; in
copy k every id, foreign key, e-mail, campaign name and utm slug is made unique, so
links, histories and SLAs stay as realistic as the simulator's. Columns, types and dlt's
`_dlt_load_id`/`_dlt_id` are kept. Timestamps do not scale: every copy lives the same
six months. A day's change is the small world's change tiled the same way and merged on
the primary keys, as dlt's merge would.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import duckdb

RAW_SCHEMAS = ("hubspot", "salesforce", "files")
OFFSET = 1_000_000_000_000  # added per copy to bigint keys
_SUFFIX_EACH = "lambda x: x || '~' || k"

# table → column → rule: id (suffix), ids (';'-list), email, name, utm, url_utm, bigint,
# or ("id_if", <column>, <value>) for a value column holding an id only for some rows.
RULES: dict[str, dict[str, Any]] = {
    "hubspot.contacts": {
        **dict.fromkeys(
            [
                "id",
                "hubspot_owner_id",
                "associatedcompanyid",
                "salesforceleadid",
                "salesforcecontactid",
            ],
            "id",
        ),
        "hs_merged_object_ids": "ids",
        "email": "email",
    },
    "hubspot.contact_property_history": {
        "contact_id": "id",
        "value": ("id_if", "property", "hubspot_owner_id"),
    },
    "hubspot.companies": dict.fromkeys(["id", "hubspot_owner_id", "salesforceaccountid"], "id"),
    "hubspot.owners": {"id": "id", "email": "email", "user_id": "bigint"},
    "hubspot.forms": {"id": "id"},
    "hubspot.form_submissions": {
        "conversion_id": "id",
        "form_id": "id",
        "email": "email",
        "page_url": "url_utm",
    },
    "hubspot.campaigns": {"id": "id", "hs_name": "name", "hs_utm": "utm"},
    "hubspot.email_events": {"id": "id", "recipient": "email", "email_campaign_id": "bigint"},
    "salesforce.lead": {
        **dict.fromkeys(
            [
                "id",
                "owner_id",
                "converted_contact_id",
                "converted_account_id",
                "converted_opportunity_id",
                "master_record_id",
            ],
            "id",
        ),
        "email": "email",
    },
    "salesforce.contact": {
        **dict.fromkeys(["id", "account_id", "owner_id", "master_record_id"], "id"),
        "email": "email",
    },
    "salesforce.account": dict.fromkeys(["id", "owner_id", "master_record_id"], "id"),
    "salesforce.opportunity": dict.fromkeys(
        ["id", "account_id", "contact_id", "owner_id", "campaign_id"], "id"
    ),
    "salesforce.opportunity_contact_role": dict.fromkeys(
        ["id", "opportunity_id", "contact_id"], "id"
    ),
    "salesforce.lead_history": {
        **dict.fromkeys(["id", "lead_id", "created_by_id"], "id"),
        "old_value": ("id_if", "field", "Owner"),
        "new_value": ("id_if", "field", "Owner"),
    },
    "salesforce.opportunity_history": dict.fromkeys(
        ["id", "opportunity_id", "created_by_id"], "id"
    ),
    "salesforce.task": dict.fromkeys(["id", "who_id", "what_id", "owner_id"], "id"),
    "salesforce.event": dict.fromkeys(["id", "who_id", "what_id", "owner_id"], "id"),
    "salesforce.user": {"id": "id", "email": "email"},
    "salesforce.campaign": {"id": "id", "parent_id": "id", "name": "name"},
    "salesforce.campaign_member": dict.fromkeys(
        ["id", "campaign_id", "lead_id", "contact_id"], "id"
    ),
    "files.list_members": {"file_name": "id", "email": "email", "list_name": "name"},
}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _expression(column: str, dtype: str, rule: Any) -> str:
    """The copy-k value of one column (k is the column `k` of the cross join)."""
    c = _q(column)
    if rule is None:
        return c
    if column == "_dlt_id":
        rule = "id"
    if isinstance(rule, tuple):
        _, other, value = rule
        as_id = _expression(column, dtype, "id")
        return f"case when {_q(other)} = '{value}' then {as_id} else {c} end"
    suffix = {
        "id": f"{c} || '~' || k",
        "ids": f"array_to_string(list_transform(string_split({c}, ';'), {_SUFFIX_EACH}), ';')",
        "email": f"case when {c} like '%@%' then regexp_replace({c}, '@', '+t' || k || '@') "
        f"else {c} || '+t' || k end",
        "name": f"{c} || ' #' || k",
        "utm": f"{c} || '-t' || k",
        "url_utm": f"regexp_replace({c}, 'utm_campaign=([^&]*)', 'utm_campaign=\\1-t' || k)",
        "bigint": f"{c} + k * {OFFSET}",
    }[rule]
    return f"cast(case when k = 0 or {c} is null then {c} else {suffix} end as {dtype})"


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = ? and table_schema in ('hubspot', 'salesforce', 'files') "
        "and table_type = 'BASE TABLE' order by 1, 2",
        [catalog],
    ).fetchall()


def _select(
    con: duckdb.DuckDBPyConnection,
    catalog: str,
    schema: str,
    table: str,
    copies: int,
    where: str = "",
) -> str:
    columns = con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = ? "
        "and table_schema = ? and table_name = ? order by ordinal_position",
        [catalog, schema, table],
    ).fetchall()
    rules = RULES.get(f"{schema}.{table}", {})
    exprs = [
        f"{_expression(name, dtype, rules.get(name) or ('id' if name == '_dlt_id' else None))} "
        f"as {_q(name)}"
        for name, dtype in columns
    ]
    return (
        f"select {', '.join(exprs)} from {catalog}.{schema}.{_q(table)} "
        f"cross join (select range as k from range({copies})) {where}"
    )


def tile_warehouse(base: Path, target: Path, copies: int) -> dict[str, Any]:
    """Write `target` with every raw table of `base` tiled `copies` times."""
    target.unlink(missing_ok=True)
    started = time.perf_counter()
    rows: dict[str, int] = {}
    with duckdb.connect(str(target)) as con:
        con.execute("set enable_progress_bar = false")
        con.execute(f"attach '{base}' as base (read_only)")
        for schema in RAW_SCHEMAS:
            con.execute(f"create schema if not exists {schema}")
        for schema, table in _tables(con, "base"):
            name = f"{schema}.{_q(table)}"
            if table.startswith("_dlt"):
                con.execute(f"create table {name} as select * from base.{name}")
                continue
            con.execute(f"create table {name} as {_select(con, 'base', schema, table, copies)}")
            rows[f"{schema}.{table}"] = con.execute(f"select count(*) from {name}").fetchall()[0][0]
        con.execute("detach base")
        con.execute("checkpoint")
    return {"seconds": time.perf_counter() - started, "rows": rows, "copies": copies}


def primary_keys(con: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> dict[str, list[str]]:
    """Each table's primary key as dlt's stored schema declares it."""
    (text,) = con.execute(
        f"select schema from {catalog}.{schema}._dlt_version order by inserted_at desc limit 1"
    ).fetchall()[0]
    tables = json.loads(text)["tables"]
    return {
        name: [c for c, spec in t.get("columns", {}).items() if spec.get("primary_key")]
        for name, t in tables.items()
        if not name.startswith("_dlt")
    }


def delta_counts(before: Path, after: Path) -> dict[str, int]:
    """Rows of `after` written by loads that `before` does not have (one day's change)."""
    with duckdb.connect() as con:
        con.execute(f"attach '{before}' as before (read_only)")
        con.execute(f"attach '{after}' as after (read_only)")
        counts = {}
        for schema, table in _tables(con, "after"):
            if table.startswith("_dlt"):
                continue
            counts[f"{schema}.{table}"] = con.execute(
                f"select count(*) from after.{schema}.{_q(table)} where _dlt_load_id not in "
                f"(select load_id from before.{schema}._dlt_loads)"
            ).fetchall()[0][0]
    return counts


def merge_tiled_delta(before: Path, after: Path, target: Path, copies: int) -> dict[str, Any]:
    """Merge the tiled one-day change of the small world into the tiled warehouse."""
    started = time.perf_counter()
    merged: dict[str, int] = {}
    with duckdb.connect(str(target)) as con:
        con.execute("set enable_progress_bar = false")
        con.execute(f"attach '{before}' as before (read_only)")
        con.execute(f"attach '{after}' as after (read_only)")
        for schema in RAW_SCHEMAS:
            keys = primary_keys(con, "after", schema)
            for _, table in [t for t in _tables(con, "after") if t[0] == schema]:
                if table.startswith("_dlt"):
                    continue
                where = (
                    f"where _dlt_load_id not in (select load_id from before.{schema}._dlt_loads)"
                )
                con.execute(
                    f"create or replace temp table delta as "
                    f"{_select(con, 'after', schema, table, copies, where)}"
                )
                n = con.execute("select count(*) from delta").fetchall()[0][0]
                if not n:
                    continue
                name = f"{schema}.{_q(table)}"
                key = keys.get(table) or ["_dlt_id"]
                on = " and ".join(f"{name}.{_q(c)} = delta.{_q(c)}" for c in key)
                con.execute(f"delete from {name} using delta where {on}")
                con.execute(f"insert into {name} by name select * from delta")
                merged[f"{schema}.{table}"] = n
            con.execute(
                f"insert into {schema}._dlt_loads select * from after.{schema}._dlt_loads "
                f"where load_id not in (select load_id from {schema}._dlt_loads)"
            )
        con.execute("detach before")
        con.execute("detach after")
        con.execute("checkpoint")
    return {"seconds": time.perf_counter() - started, "rows": merged}
