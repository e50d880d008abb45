"""Erasure of one person's personal data (GDPR art. 17) from the raw tables.

What is personal (`meta: {pii: clear}`, `erase_as`, `erase_when`) and which columns tie a
row to a person (`person_link`) is declared in the dbt sources YAML (`erasure_plan`). A
request is widened to the whole person (`resolve`), recorded in schema `privacy` with
record ids and address hashes only, and the person's values are pseudonymized in place
(`scrub`); every later load scrubs them again (`reapply_after_load`). This module owns
the Python side of address matching, which must agree with dbt's `normalize_email`
(dbt_project/macros/strings.sql) and `email_hash` (dbt_project/macros/pii.sql).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadbridge.engine import Engine, Session, literal, quote
from leadbridge.lock import hold_warehouse_lock

PRIVACY_SCHEMA = "privacy"
REQUESTS_TABLE = f"{PRIVACY_SCHEMA}.erasure_requests"
IDENTIFIERS_TABLE = f"{PRIVACY_SCHEMA}.erased_identifiers"
ID_KINDS = ("hubspot_contact", "salesforce_lead", "salesforce_contact")
# `<id kind>_list`: a `;`-separated list of such ids (a HubSpot task's contacts). The row
# belongs to each listed person, but a list never joins them into one person.
LIST_SUFFIX = "_list"
LINK_KINDS = (*ID_KINDS, *(k + LIST_SUFFIX for k in ID_KINDS), "email", "salesforce_person")
ERASE_AS = ("text", "email", "json", "null")
ERASED_TEXT = "erased"
RECORD_PERSONS = "intermediate.int_identity__record_persons"
IDENTITY_RECORDS = "intermediate.int_identity__records"


class ErasureError(ValueError):
    """A request or a declaration that cannot be carried out; the message says why."""


class NoRecordMatched(ErasureError):
    """A requested address or record is in no raw table: a typo, or nothing to erase."""

    def __init__(self, unmatched: list[str]) -> None:
        super().__init__("; ".join(f"no record matched {what}" for what in unmatched))
        self.unmatched = unmatched


# -- the plan: what the sources YAML declares ---------------------------------------------
@dataclass(frozen=True)
class ErasableColumn:
    """A column of clear PII and what replaces it."""

    name: str
    erase_as: str = "text"
    erase_when: str | None = None


@dataclass(frozen=True)
class ErasableTable:
    """A raw table with personal data: how its rows tie to a person, what to erase."""

    schema: str
    table: str
    links: Mapping[str, str]
    columns: tuple[ErasableColumn, ...]

    @property
    def relation(self) -> str:
        """`schema."table"` (Salesforce's `user` is a reserved word)."""
        return f"{self.schema}.{quote(self.table)}"


def _meta(node: Mapping[str, Any]) -> dict[str, Any]:
    return {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}


def erasure_plan(manifest: Path | Mapping[str, Any]) -> list[ErasableTable]:
    """Every source table with clear PII, from the dbt manifest; errors on gaps."""
    if not isinstance(manifest, Mapping):
        manifest = json.loads(Path(manifest).read_text())
    plan, problems = [], []
    for node in manifest.get("sources", {}).values():
        name = f"{node['source_name']}.{node['name']}"
        columns = []
        for column in node.get("columns", {}).values():
            meta = _meta(column)
            if meta.get("pii") != "clear":
                continue
            erase_as = meta.get("erase_as", "text")
            if erase_as not in ERASE_AS:
                problems.append(f"{name}.{column['name']}: erase_as {erase_as!r} not in {ERASE_AS}")
            columns.append(ErasableColumn(column["name"], erase_as, meta.get("erase_when")))
        links = _meta(node).get("person_link") or {}
        for column, kind in links.items():
            if kind not in LINK_KINDS:
                problems.append(f"{name}: person_link {column}: {kind!r} not in {LINK_KINDS}")
        if columns and not links:
            problems.append(f"{name} has clear PII but no person_link: it could not be erased")
        if columns:
            plan.append(ErasableTable(node["source_name"], node["name"], links, tuple(columns)))
    if problems:
        raise ErasureError("the sources YAML cannot be erased by: " + "; ".join(sorted(problems)))
    return sorted(plan, key=lambda t: (t.schema, t.table))


# -- who: the person's identifiers --------------------------------------------------------
def normalize_email(email: str) -> str:
    """The address as the warehouse matches it: dbt's `normalize_email` macro
    (dbt_project/macros/strings.sql) and the SQL of `_email_match`, `lower(trim(…))`,
    where SQL's `trim` removes spaces only."""
    return email.strip(" ").lower()


def email_hash(email: str) -> str:
    """Hex SHA-256 of the normalized address: what `privacy` keeps instead of it, and
    what dbt's `email_hash` macro (dbt_project/macros/pii.sql) puts in the marts."""
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()


@dataclass
class Identifiers:
    """What ties rows to one person: record ids by kind and address hashes."""

    ids: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in ID_KINDS})
    email_hashes: set[str] = field(default_factory=set)

    def add_record(self, kind: str, record_id: str | None) -> bool:
        """Add one record id; True when it was new."""
        if not record_id or kind not in self.ids or record_id in self.ids[kind]:
            return False
        self.ids[kind].add(record_id)
        return True

    def is_empty(self) -> bool:
        """Nothing to match."""
        return not self.email_hashes and not any(self.ids.values())

    def rows(self) -> list[tuple[str, str]]:
        """(kind, value) pairs, `email_sha256` for the hashes."""
        out = [("email_sha256", h) for h in sorted(self.email_hashes)]
        return out + [(kind, value) for kind in ID_KINDS for value in sorted(self.ids[kind])]


def parse_record(text: str) -> tuple[str, str]:
    """`salesforce_lead:00Q…` → (kind, id), with a clear error for anything else."""
    kind, _, record_id = text.partition(":")
    if kind not in ID_KINDS or not record_id.strip():
        raise ErasureError(
            f"record {text!r}: expected <kind>:<id> with kind one of {', '.join(ID_KINDS)}"
        )
    return kind, record_id.strip()


def _sha256_sql(dialect: str, expression: str) -> str:
    """Hex SHA-256 of a text expression; the engines spell it differently."""
    if dialect == "postgres":
        return f"encode(sha256(convert_to({expression}, 'UTF8')), 'hex')"
    return f"sha256({expression})"


def _email_match(sql: Session, expression: str, hashes: Iterable[str]) -> str:
    """SQL: the address in `expression` is one of the hashed ones."""
    values = ", ".join(literal(h) for h in sorted(hashes))
    if not values:
        return "false"
    return f"{_sha256_sql(sql.engine, f'lower(trim({expression}))')} in ({values})"


def _in(expression: str, values: Iterable[str]) -> str:
    found = ", ".join(literal(v) for v in sorted(values))
    return f"{expression} in ({found})" if found else "false"


def _listed(expression: str, values: Iterable[str]) -> str:
    """SQL: one of `values` is an item of the `;`-separated list in `expression`."""
    items = f"(';' || {expression} || ';')"
    found = [f"position({literal(';' + v + ';')} in {items}) > 0" for v in sorted(values)]
    return "(" + " or ".join(found) + ")" if found else "false"


def _row_belongs(sql: Session, table: ErasableTable, who: Identifiers) -> str:
    """SQL condition: the row is tied to the person by any of its link columns."""
    terms = []
    for column, kind in sorted(table.links.items()):
        if kind == "email":
            terms.append(_email_match(sql, quote(column), who.email_hashes))
        elif kind == "salesforce_person":
            people = who.ids["salesforce_lead"] | who.ids["salesforce_contact"]
            terms.append(_in(quote(column), people))
        elif kind.endswith(LIST_SUFFIX):
            terms.append(_listed(quote(column), who.ids[kind.removesuffix(LIST_SUFFIX)]))
        else:
            terms.append(_in(quote(column), who.ids[kind]))
    return "(" + " or ".join(terms) + ")"


def resolve(
    sql: Session, plan: list[ErasableTable], emails: Iterable[str] = (), records: Iterable[str] = ()
) -> Identifiers:
    """The whole person behind an address or a record: their identity cluster, its
    addresses, and every record that carries one of them, until nothing new is found."""
    who = Identifiers()
    # a request typed or pasted may carry a newline; an address in the data may not
    who.email_hashes.update(email_hash(e.strip()) for e in emails if e.strip())
    for text in records:
        who.add_record(*parse_record(text))
    if who.is_empty():
        raise ErasureError("an erasure request needs an email address or a source record")
    clustered = sql.table_exists(*RECORD_PERSONS.split(".")) and sql.table_exists(
        *IDENTITY_RECORDS.split(".")
    )
    for _ in range(10):  # each round follows links one step further
        before = (len(who.email_hashes), sum(len(v) for v in who.ids.values()))
        if clustered:
            _widen_by_cluster(sql, who)
        for table in plan:
            _widen_by_rows(sql, table, who)
        if (len(who.email_hashes), sum(len(v) for v in who.ids.values())) == before:
            return who
    return who


def unmatched(
    sql: Session, plan: list[ErasableTable], emails: Iterable[str] = (), records: Iterable[str] = ()
) -> list[str]:
    """The requested addresses (`email <address>`) and records (`<kind>:<id>`) that no
    raw row carries, with a note where an earlier request erased them already."""
    requested: list[tuple[str, Identifiers]] = []
    for email in (e.strip() for e in emails):
        if email:
            requested.append((f"email {email}", Identifiers(email_hashes={email_hash(email)})))
    for text in records:
        kind, record_id = parse_record(text)
        who = Identifiers()
        who.add_record(kind, record_id)
        requested.append((f"{kind}:{record_id}", who))
    if not requested:
        return []
    found = [False] * len(requested)
    for table in plan:
        if not sql.table_exists(table.schema, table.table):
            continue
        # one scan per table for all of them: the address terms hash every row
        terms = ", ".join(
            f"max(case when {_row_belongs(sql, table, who)} then 1 else 0 end)"
            for _, who in requested
        )
        (row,) = sql.rows(f"select {terms} from {table.relation}")
        found = [before or bool(hit) for before, hit in zip(found, row, strict=True)]
    erased = recorded_requests(sql)
    missing = []
    for (what, who), hit in zip(requested, found, strict=True):
        if hit:
            continue
        earlier = [
            request_id
            for request_id, done in sorted(erased.items())
            if who.email_hashes & done.email_hashes
            or any(who.ids[kind] & done.ids[kind] for kind in ID_KINDS)
        ]
        missing.append(f"{what} (erased by request {earlier[0]})" if earlier else what)
    return missing


def _widen_by_cluster(sql: Session, who: Identifiers) -> None:
    keys = [f"{kind}:{value}" for kind in ID_KINDS for value in who.ids[kind]]
    persons = sql.rows(
        f"select distinct p.person_id from {RECORD_PERSONS} p "
        f"left join {IDENTITY_RECORDS} r on r.node_key = p.node_key "
        f"where {_in('p.node_key', keys)} "
        f"or {_email_match(sql, 'r.email_normalized', who.email_hashes)}"
    )
    if not persons:
        return
    for record_type, record_id, email in sql.rows(
        f"select p.record_type, p.record_id, r.email_normalized from {RECORD_PERSONS} p "
        f"left join {IDENTITY_RECORDS} r on r.node_key = p.node_key "
        f"where p.person_id in ({', '.join(literal(p[0]) for p in persons)})"
    ):
        who.add_record(record_type, record_id)
        if email:
            who.email_hashes.add(email_hash(email))


def _widen_by_rows(sql: Session, table: ErasableTable, who: Identifiers) -> None:
    """Rows tied to the person that carry another id or address of theirs."""
    if not sql.table_exists(table.schema, table.table):
        return
    # a list of ids names several people: it ties the row to each, not them to each other
    columns = sorted(c for c, kind in table.links.items() if not kind.endswith(LIST_SUFFIX))
    if not columns:
        return
    found = sql.rows(
        f"select {', '.join(quote(c) for c in columns)} from {table.relation} "
        f"where {_row_belongs(sql, table, who)}"
    )
    for row in found:
        for column, value in zip(columns, row, strict=True):
            kind = table.links[column]
            if value is None:
                continue
            if kind == "email":
                who.email_hashes.add(email_hash(str(value)))
            elif kind in ID_KINDS:
                who.add_record(kind, str(value))


# -- what: recording and scrubbing --------------------------------------------------------
def pseudonymous_email(request_id: str) -> str:
    """The address every erased address of one request becomes (RFC 2606 `.invalid`)."""
    return f"erased-{request_id[:12]}@erased.invalid"


def ensure_privacy_tables(sql: Session) -> None:
    """Schema `privacy` with its two tables; dbt never builds into it."""
    sql.execute(f"create schema if not exists {PRIVACY_SCHEMA}")
    sql.execute(
        f"create table if not exists {REQUESTS_TABLE} (request_id varchar primary key, "
        "requested_at timestamp not null, reason varchar, identifiers integer not null)"
    )
    sql.execute(
        f"create table if not exists {IDENTIFIERS_TABLE} (request_id varchar not null, "
        "kind varchar not null, value varchar not null, primary key (request_id, kind, value))"
    )


def record_request(sql: Session, who: Identifiers, reason: str | None = None) -> str:
    """Store the request's identifiers (ids and address hashes only); its id."""
    ensure_privacy_tables(sql)
    request_id = uuid.uuid4().hex
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
    pairs = who.rows()
    sql.execute(
        f"insert into {REQUESTS_TABLE} values ({literal(request_id)}, "
        f"cast({literal(now)} as timestamp), {literal(reason) if reason else 'null'}, "
        f"{len(pairs)})"
    )
    for kind, value in pairs:
        sql.execute(
            f"insert into {IDENTIFIERS_TABLE} values "
            f"({literal(request_id)}, {literal(kind)}, {literal(value)})"
        )
    return request_id


def recorded_requests(sql: Session) -> dict[str, Identifiers]:
    """request id → the identifiers it recorded (empty before the first request)."""
    if not sql.table_exists(PRIVACY_SCHEMA, "erased_identifiers"):
        return {}
    out: dict[str, Identifiers] = {}
    for request_id, kind, value in sql.rows(
        f"select request_id, kind, value from {IDENTIFIERS_TABLE} order by 1, 2, 3"
    ):
        who = out.setdefault(request_id, Identifiers())
        if kind == "email_sha256":
            who.email_hashes.add(value)
        else:
            who.add_record(kind, value)
    return out


def _replacement(column: ErasableColumn, request_id: str) -> str:
    return {
        "text": literal(ERASED_TEXT),
        "email": literal(pseudonymous_email(request_id)),
        "json": literal("{}"),
        "null": "null",
    }[column.erase_as]


def scrub(
    sql: Session,
    plan: list[ErasableTable],
    who: Identifiers,
    request_id: str,
    schemas: Iterable[str] | None = None,
) -> dict[str, int]:
    """Pseudonymize the person's clear PII in the raw tables (of `schemas`, default all);
    rows changed per table. Idempotent: a scrubbed value is not changed again."""
    wanted = set(schemas) if schemas is not None else None
    changed: dict[str, int] = {}
    for table in plan:
        if wanted is not None and table.schema not in wanted:
            continue
        if not sql.table_exists(table.schema, table.table):
            continue
        # One statement per table: a column replaced first (the address) must not stop
        # the row from matching for the next one (the form's values).
        assignments, needs = [], []
        for column in table.columns:
            name, replacement = quote(column.name), _replacement(column, request_id)
            # a NULL stays NULL (nothing personal in it); a replaced value stays as it is
            need = f"{name} is not null and {name} is distinct from {replacement}"
            if column.erase_when:
                need += f" and ({column.erase_when})"
            assignments.append(f"{name} = case when {need} then {replacement} else {name} end")
            needs.append(f"({need})")
        count = sql.execute(
            f"update {table.relation} set {', '.join(assignments)} "
            f"where {_row_belongs(sql, table, who)} and ({' or '.join(needs)})"
        )
        changed[f"{table.schema}.{table.table}"] = max(0, count)
    return changed


def reapply(sql: Session, plan: list[ErasableTable], schemas: Iterable[str]) -> dict[str, int]:
    """Scrub every recorded request again in `schemas` (after a load): rows changed per
    table, only tables where something changed."""
    totals: dict[str, int] = {}
    schemas = list(schemas)
    for request_id, who in recorded_requests(sql).items():
        for table, count in scrub(sql, plan, who, request_id, schemas).items():
            if count:
                totals[table] = totals.get(table, 0) + count
    return totals


def reapply_after_load(engine: Any, manifest: Path, schema: str) -> dict[str, int]:
    """Pseudonymize again, in the raw `schema` a load just wrote, every person erased
    before; rows changed per table. Nothing is opened for writing before the first
    request. On DuckDB a change is followed by `compact_duckdb`."""
    with engine.reader() as reader:
        if not reader.table_exists(PRIVACY_SCHEMA, "erased_identifiers"):
            return {}
    plan = erasure_plan(manifest)
    with engine.writer() as sql:
        changed = reapply(sql, plan, [schema])
    if changed and not engine.is_postgres:
        compact_duckdb(engine.file)
    if changed and engine.is_postgres:
        engine.vacuum_full(sorted(changed))
    return changed


def compact_duckdb(path: Path) -> None:
    """Rewrite a DuckDB file so values replaced by an UPDATE are gone from it: copy every
    schema into a new file, then swap it in (old blocks may otherwise keep them)."""
    import duckdb

    temp = path.with_name(f"{path.name}.compact-{os.getpid()}")
    temp.unlink(missing_ok=True)
    try:
        with duckdb.connect(":memory:") as con:
            con.execute(f"attach {literal(str(path))} as old (read_only)")
            con.execute(f"attach {literal(str(temp))} as new")
            con.execute("copy from database old to new")
            con.execute("detach new")
            con.execute("detach old")
        os.replace(temp, path)
        Path(f"{path}.wal").unlink(missing_ok=True)
    finally:
        temp.unlink(missing_ok=True)
        Path(f"{temp}.wal").unlink(missing_ok=True)


# -- one request, under the run lock -----------------------------------------------------
def erase_raw(
    engine: Engine,
    manifest: Any,
    emails: Sequence[str] = (),
    records: Sequence[str] = (),
    reason: str | None = None,
    log: Any = None,
) -> tuple[str, dict[str, int], int]:
    """Step 1 of an erasure, under the run lock, in one transaction: (request id, rows
    changed per table, identifiers of the person). `NoRecordMatched` when a requested
    address or record is in no raw table; nothing is written then."""
    if engine.is_spark:
        raise NotImplementedError(
            "erasure does not run on Spark yet: its raw tables are Parquet files, which "
            "cannot be updated in place (docs/warehouses.md, Spark)"
        )
    request_id, changed, who = scrub_person(engine, manifest, emails, records, reason, log)
    return request_id, changed, len(who.rows())


def scrub_person(
    engine: Engine,
    manifest: Any,
    emails: Sequence[str],
    records: Sequence[str],
    reason: str | None,
    log: Any,
) -> tuple[str, dict[str, int], Identifiers]:
    plan = erasure_plan(manifest)
    for record in records:  # a malformed request fails before anything is locked
        parse_record(record)
    with hold_warehouse_lock(engine, log=log), engine.writer() as sql:
        missing = unmatched(sql, plan, emails, records)
        if missing:
            raise NoRecordMatched(missing)
        who = resolve(sql, plan, emails=emails, records=records)
        request_id = record_request(sql, who, reason)
        changed = scrub(sql, plan, who, request_id)
    return request_id, changed, who


def purge_replaced_values(engine: Engine, changed: dict[str, int], log: Any = None) -> None:
    """The last step of an erasure, after the rebuild (which drops tables that held the
    data in clear): on DuckDB rewrite the file, on PostgreSQL `VACUUM FULL` the scrubbed
    raw tables."""
    with hold_warehouse_lock(engine, log=log):
        if engine.is_postgres:
            engine.vacuum_full(sorted(table for table, count in changed.items() if count))
        else:
            compact_duckdb(engine.file)
