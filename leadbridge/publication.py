"""Write-audit-publish: the marts BI tools read are a copy, swapped in whole.

DuckDB: the schema `marts` (less what dbt marks `meta: {publish: false}`) is copied into
a new read-only file beside the serving file, then `os.replace`d onto it. PostgreSQL:
`marts` and `restricted` are copied with their grants into incoming schemas, renamed
onto `published` and `published_restricted` in one transaction. Both record run, time,
rows and a content hash per table in `_publication`, and carry the restatement ledger
forward (leadbridge.restatements). Readers see the old copy or the new one, whole
(docs/decisions/005-write-audit-publish.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadbridge.content import content_hash, postgres_content_hash
from leadbridge.engine import Engine, PostgresSettings, Session, duckdb_config, literal, quote
from leadbridge.paths import DBT_MANIFEST
from leadbridge.restatements import LEDGER, Place, Previous, Restatement, keep_ledger, restate
from leadbridge.settings import DUCKDB, POSTGRES
from leadbridge.trust import TrustRecord, write_trust

LOG = logging.getLogger(__name__)
MARTS_SCHEMA = "marts"
RESTRICTED_SCHEMA = "restricted"
PUBLICATION_TABLE = "_publication"
# Working schema → the schema BI roles read (PostgreSQL).
SERVING_SCHEMAS = {MARTS_SCHEMA: "published", RESTRICTED_SCHEMA: "published_restricted"}
INCOMING, RETIRED = "__incoming", "__retired"
SWAP_LOCK_TIMEOUT = "120s"
SWAP_ATTEMPTS = 3
# Readers never write the serving file: read-only for everyone, so that a BI tool cannot
# open it read-write by accident (and leave a WAL beside it that other readers choke on).
SERVING_FILE_MODE = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
# dbt `meta` key: `publish: false` on a model or a column keeps it out of the publication.
PUBLISH_META = "publish"


@dataclass(frozen=True)
class Unpublished:
    """What the working schemas hold for the build's own use and BI never sees: whole
    tables, and columns of published tables, by (schema, table)."""

    tables: frozenset[tuple[str, str]] = frozenset()
    columns: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_manifest(cls, manifest_path: Path) -> Unpublished:
        """The models and columns the dbt project marks `meta: {publish: false}`."""
        manifest = json.loads(Path(manifest_path).read_text())
        tables, columns = set(), {}
        for node in manifest.get("nodes", {}).values():
            if node.get("resource_type") != "model":
                continue
            relation = (node["schema"], node.get("alias") or node["name"])
            if _publish_meta(node) is False:
                tables.add(relation)
            hidden = {
                name
                for name, column in node.get("columns", {}).items()
                if _publish_meta(column) is False
            }
            if hidden:
                columns[relation] = frozenset(hidden)
        return cls(frozenset(tables), columns)

    def keeps(self, schema: str, table: str) -> bool:
        """Whether the table goes into the publication."""
        return (schema, table) not in self.tables

    def published_columns(self, schema: str, table: str, columns: Iterable[str]) -> list[str]:
        """The columns of a table that go into the publication, in their order."""
        hidden = self.columns.get((schema, table), frozenset())
        return [column for column in columns if column not in hidden]


def _publish_meta(node: Mapping[str, Any]) -> Any:
    """A node's or a column's `publish` meta; dbt puts `meta` in `config` too."""
    for meta in (node.get("meta"), (node.get("config") or {}).get("meta")):
        if meta and PUBLISH_META in meta:
            return meta[PUBLISH_META]
    return None


def unpublished(manifest_path: Path = DBT_MANIFEST) -> Unpublished:
    """What the dbt project keeps out of the publication (its manifest's `meta`)."""
    return Unpublished.from_manifest(manifest_path)


@dataclass(frozen=True)
class Publication:
    """What one publication put into the serving file (or a PostgreSQL serving schema)."""

    # the serving file; on PostgreSQL `postgresql://host:port/database#schema`
    path: Path | str
    run_id: str
    published_at: datetime
    rows: dict[str, int]
    hashes: dict[str, str]
    # the KPI values of past periods it changed (leadbridge.restatements); None: not known
    restatements: tuple[Restatement, ...] | None = field(default=None, compare=False)
    # why the past periods could not be compared (the marts were published all the same)
    restatement_error: str | None = field(default=None, compare=False)

    @property
    def content_hash(self) -> str:
        """One hash over every table's name and content hash."""
        text = "\n".join(f"{table}:{self.hashes[table]}" for table in sorted(self.hashes))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_leftovers(target: Path) -> None:
    """Temp files of an earlier publication that crashed before its rename."""
    for leftover in target.parent.glob(f"{target.name}.tmp-*"):
        leftover.unlink(missing_ok=True)


def publish_marts(
    warehouse_file: Path,
    target: Path,
    run_id: str,
    hidden: Unpublished | None = None,
    trust: TrustRecord | None = None,
) -> Publication:
    """Copy schema `marts` of the warehouse, less what `hidden` keeps out (default: what
    the dbt project marks unpublished), into a new read-only file; swap it onto `target`.
    `trust` (the checks, source loads and quarantine) goes beside `_publication`."""
    import duckdb

    hidden = hidden if hidden is not None else unpublished()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    temp = target.with_name(f"{target.name}.tmp-{run_id}")
    published_at = datetime.now(UTC).replace(tzinfo=None)
    in_place = read_publication(target)
    try:
        with duckdb.connect(str(temp), config=duckdb_config()) as con:
            con.execute(f"attach {literal(str(warehouse_file))} as working (read_only)")
            previous = None
            if in_place is not None:
                con.execute(f"attach {literal(str(target))} as previous (read_only)")
                previous = Previous(
                    in_place.run_id, in_place.published_at, Place(MARTS_SCHEMA, "previous")
                )
            tables = [
                row[0]
                for row in con.execute(
                    "select table_name from information_schema.tables "
                    "where table_catalog = 'working' and table_schema = ? order by 1",
                    [MARTS_SCHEMA],
                ).fetchall()
                if hidden.keeps(MARTS_SCHEMA, row[0])
            ]
            if not tables:
                raise RuntimeError(f"{warehouse_file} has no tables in schema {MARTS_SCHEMA}")
            con.execute(f"create schema {MARTS_SCHEMA}")
            for table in tables:
                columns = [
                    row[0]
                    for row in con.execute(
                        "select column_name from information_schema.columns "
                        "where table_catalog = 'working' and table_schema = ? "
                        "and table_name = ? order by ordinal_position",
                        [MARTS_SCHEMA, table],
                    ).fetchall()
                ]
                selected = ", ".join(
                    quote(c) for c in hidden.published_columns(MARTS_SCHEMA, table, columns)
                )
                name = f"{MARTS_SCHEMA}.{quote(table)}"
                con.execute(f"create table {name} as select {selected} from working.{name}")
            [(catalog,)] = con.execute("select current_database()").fetchall()
            night = restate(
                Session(DUCKDB, con),
                Place(MARTS_SCHEMA, catalog),
                previous,
                "working",
                run_id,
                published_at,
            )
            if night is not None:
                tables.append(LEDGER)
            if previous is not None:
                con.execute("detach previous")
            con.execute("detach working")
            rows = {
                table: con.execute(
                    f"select count(*) from {MARTS_SCHEMA}.{quote(table)}"
                ).fetchall()[0][0]
                for table in tables
            }
            hashes = {table: content_hash(con, MARTS_SCHEMA, table) for table in tables}
            con.execute(
                f"create table main.{PUBLICATION_TABLE} (run_id varchar not null, "
                "published_at timestamp not null, table_schema varchar not null, "
                "table_name varchar not null, row_count bigint not null, "
                "content_hash varchar not null)"
            )
            con.executemany(
                f"insert into main.{PUBLICATION_TABLE} values (?, ?, ?, ?, ?, ?)",
                [
                    (run_id, published_at, MARTS_SCHEMA, table, rows[table], hashes[table])
                    for table in tables
                ],
            )
            if trust is not None:
                write_trust(Session(DUCKDB, con), "main", trust)
            con.execute("checkpoint")
        os.chmod(temp, SERVING_FILE_MODE)
        _fsync(temp)
        # A WAL left by a session that opened the old file read-write would be replayed
        # onto the new file by the next reader ("WAL does not match database file"); the
        # old file is whole without it (the WAL only held what that session wrote).
        Path(f"{target}.wal").unlink(missing_ok=True)
        os.replace(temp, target)
        _fsync(target.parent)
    finally:
        temp.unlink(missing_ok=True)
        Path(f"{temp}.wal").unlink(missing_ok=True)
    if night is not None:
        with duckdb.connect(str(warehouse_file), config=duckdb_config()) as con:
            con.execute(f"attach {literal(str(target))} as published (read_only)")
            keep_ledger(Session(DUCKDB, con), Place(MARTS_SCHEMA, "published"))
            con.execute("detach published")
    return _publication(target, run_id, published_at, rows, hashes, night)


def read_publication(path: Path, log: Any = None) -> Publication | None:
    """The `_publication` record of a serving file, read-only; None if there is none, or
    if the file cannot be read (then the next publication replaces it; `log` says so)."""
    import duckdb

    if not path.exists():
        return None
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            records = con.execute(
                f"select run_id, published_at, table_name, row_count, content_hash "
                f"from main.{PUBLICATION_TABLE} order by table_name"
            ).fetchall()
    except duckdb.Error as error:
        (log or LOG).warning(
            f"the published file {path} cannot be read, so it counts as no publication "
            f"(the next publication replaces it): {error}"
        )
        return None
    if not records:
        return None
    return Publication(
        path=path,
        run_id=records[0][0],
        published_at=records[0][1],
        rows={r[2]: r[3] for r in records},
        hashes={r[2]: r[4] for r in records},
    )


def publish_postgres(
    settings: PostgresSettings,
    run_id: str,
    hidden: Unpublished | None = None,
    trust: TrustRecord | None = None,
) -> dict[str, Publication]:
    """Copy `marts` (and `restricted`, when it exists), less what `hidden` keeps out, into
    fresh schemas, then swap them onto their serving schemas in one transaction; the
    publications by working schema."""
    hidden = hidden if hidden is not None else unpublished()
    published_at = datetime.now(UTC).replace(tzinfo=None)
    serving = SERVING_SCHEMAS[MARTS_SCHEMA]
    in_place = read_postgres_publication(settings, serving)
    previous = None
    if in_place is not None:
        previous = Previous(in_place.run_id, in_place.published_at, Place(serving))
    connection = settings.connect()
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "select nspname from pg_namespace where nspname = any(%s)",
                (list(SERVING_SCHEMAS),),
            )
            present = {row[0] for row in cursor.fetchall()}
            if MARTS_SCHEMA not in present:
                raise RuntimeError(f"{settings.url} has no schema {MARTS_SCHEMA}")
            publications = {
                source: _stage_schema(
                    cursor, settings, source, target, run_id, published_at, hidden, previous
                )
                for source, target in SERVING_SCHEMAS.items()
                if source in present
            }
            if trust is not None:
                _stage_trust(connection, serving + INCOMING, trust)
        _swap_all(connection, [SERVING_SCHEMAS[source] for source in publications])
        if publications[MARTS_SCHEMA].restatements is not None:
            with connection:
                keep_ledger(Session(POSTGRES, connection), Place(serving))
    finally:
        connection.close()
    return publications


def _swap_all(connection, servings: list[str]) -> None:
    """Swap every incoming schema in one transaction. Dropping the old tables takes their
    locks one by one, so a BI statement reading several of them can deadlock with it;
    the server then aborts one side, and when that is us the swap is simply retried."""
    import psycopg2.errors

    for attempt in range(1, SWAP_ATTEMPTS + 1):
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(f"set local lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
                for serving in servings:
                    _swap(cursor, serving)
            return
        except (psycopg2.errors.DeadlockDetected, psycopg2.errors.LockNotAvailable):
            if attempt == SWAP_ATTEMPTS:
                raise
            time.sleep(attempt)


def _stage_schema(
    cursor, settings, source, serving, run_id, published_at, hidden: Unpublished, previous
) -> Publication:
    """Copy every table of `source` that `hidden` keeps in, with its grants, into
    `<serving>__incoming`; for `marts`, add the restatement ledger against `previous`."""
    incoming = quote(serving + INCOMING)
    cursor.execute(f"drop schema if exists {incoming} cascade")
    cursor.execute(f"create schema {incoming}")
    cursor.execute(
        "select table_name from information_schema.tables where table_schema = %s order by 1",
        (source,),
    )
    tables = [row[0] for row in cursor.fetchall() if hidden.keeps(source, row[0])]
    if source == MARTS_SCHEMA and not tables:
        raise RuntimeError(f"{settings.url} has no tables in schema {source}")
    grantees: set[str] = set()
    rows, hashes = {}, {}
    for table in tables:
        cursor.execute(
            "select column_name from information_schema.columns "
            "where table_schema = %s and table_name = %s order by ordinal_position",
            (source, table),
        )
        columns = hidden.published_columns(source, table, [row[0] for row in cursor.fetchall()])
        cursor.execute(
            f"create table {incoming}.{quote(table)} as "
            f"select {', '.join(quote(c) for c in columns)} from {quote(source)}.{quote(table)}"
        )
        for grantee, privilege, grantable in _table_grants(cursor, source, table):
            role = "public" if grantee is None else quote(grantee)
            cursor.execute(
                f"grant {privilege} on {incoming}.{quote(table)} to {role}"
                + (" with grant option" if grantable else "")
            )
            grantees.add(role)
        cursor.execute(f"select count(*) from {incoming}.{quote(table)}")
        rows[table] = cursor.fetchone()[0]
        hashes[table] = postgres_content_hash(cursor, serving + INCOMING, table)
    night = None
    if source == MARTS_SCHEMA:
        session = Session(POSTGRES, cursor.connection)
        night = restate(session, Place(serving + INCOMING), previous, None, run_id, published_at)
    if night is not None:
        tables.append(LEDGER)
        cursor.execute(f"select count(*) from {incoming}.{LEDGER}")
        rows[LEDGER] = cursor.fetchone()[0]
        hashes[LEDGER] = postgres_content_hash(cursor, serving + INCOMING, LEDGER)
    cursor.execute(
        f"create table {incoming}.{PUBLICATION_TABLE} (run_id text not null, "
        "published_at timestamp not null, table_schema text not null, "
        "table_name text not null, row_count bigint not null, content_hash text not null)"
    )
    for table in tables:
        cursor.execute(
            f"insert into {incoming}.{PUBLICATION_TABLE} values (%s, %s, %s, %s, %s, %s)",
            (run_id, published_at, serving, table, rows[table], hashes[table]),
        )
    for role in sorted(grantees):
        cursor.execute(f"grant usage on schema {incoming} to {role}")
        for table in [PUBLICATION_TABLE] + ([LEDGER] if night is not None else []):
            cursor.execute(f"grant select on {incoming}.{table} to {role}")
    return _publication(f"{settings.url}#{serving}", run_id, published_at, rows, hashes, night)


def _publication(path, run_id, published_at, rows, hashes, night) -> Publication:
    """The publication record, with what it found restated (`night`, None: no ledger)."""
    if night is None:
        return Publication(path, run_id, published_at, rows, hashes)
    if night.error is not None:
        LOG.warning("past KPIs were not compared, restatements unknown: %s", night.error)
        return Publication(path, run_id, published_at, rows, hashes, None, night.error)
    return Publication(path, run_id, published_at, rows, hashes, night.rows)


def _stage_trust(connection, incoming: str, trust: TrustRecord) -> None:
    """The trust tables in the incoming marts schema, readable by whoever reads it."""
    tables = write_trust(Session(POSTGRES, connection), incoming, trust)
    with connection.cursor() as cursor:
        for grantee, privilege, _ in _table_grants(cursor, incoming, PUBLICATION_TABLE):
            role = "public" if grantee is None else quote(grantee)
            for table in tables:
                cursor.execute(f"grant {privilege} on {quote(incoming)}.{table} to {role}")


def _table_grants(cursor, schema: str, table: str) -> list[tuple[str | None, str, bool]]:
    """(grantee, privilege, grantable) of a table from its ACL, the owner's own left out;
    grantee None is PUBLIC."""
    cursor.execute(
        "select case when a.grantee = 0 then null else pg_get_userbyid(a.grantee) end, "
        "a.privilege_type, a.is_grantable "
        "from pg_class c join pg_namespace n on n.oid = c.relnamespace, "
        "lateral aclexplode(c.relacl) a "
        "where n.nspname = %s and c.relname = %s and a.grantee <> c.relowner "
        "order by 1, 2",
        (schema, table),
    )
    return cursor.fetchall()


def _swap(cursor, serving: str) -> None:
    """Inside the caller's transaction: the incoming schema becomes `serving`."""
    retired = quote(serving + RETIRED)
    cursor.execute(f"drop schema if exists {retired} cascade")
    cursor.execute("select 1 from pg_namespace where nspname = %s", (serving,))
    if cursor.fetchone():
        cursor.execute(f"alter schema {quote(serving)} rename to {retired}")
    cursor.execute(f"alter schema {quote(serving + INCOMING)} rename to {quote(serving)}")
    cursor.execute(f"drop schema if exists {retired} cascade")


def read_postgres_publication(
    settings: PostgresSettings, schema: str = SERVING_SCHEMAS[MARTS_SCHEMA]
) -> Publication | None:
    """The `_publication` record of a serving schema; None if there is none."""
    connection = settings.connect()
    try:
        connection.set_session(readonly=True, autocommit=True)
        with connection.cursor() as cursor:
            cursor.execute(
                "select 1 from information_schema.tables "
                "where table_schema = %s and table_name = %s",
                (schema, PUBLICATION_TABLE),
            )
            if cursor.fetchone() is None:
                return None
            cursor.execute(
                "select run_id, published_at, table_name, row_count, content_hash "
                f"from {quote(schema)}.{PUBLICATION_TABLE} order by table_name"
            )
            records = cursor.fetchall()
    finally:
        connection.close()
    if not records:
        return None
    return Publication(
        path=f"{settings.url}#{schema}",
        run_id=records[0][0],
        published_at=records[0][1],
        rows={r[2]: r[3] for r in records},
        hashes={r[2]: r[4] for r in records},
    )


def publication_in_place(
    engine: Engine, published_file: Path, log: Any = None
) -> Publication | None:
    """The publication BI tools read now: `published_file` on DuckDB, schema `published`
    on PostgreSQL; None if there is none."""
    if engine.postgres is not None:
        return read_postgres_publication(engine.postgres)
    return read_publication(published_file, log)
