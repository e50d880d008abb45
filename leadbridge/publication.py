"""Write-audit-publish: the marts BI tools read are a copy, swapped in whole.

DuckDB: the schema `marts` (less what dbt marks `meta: {publish: false}`) goes into a new
read-only file started as a copy of the serving file (unchanged tables kept, changed ones
patched or copied), then `os.replace`d onto it. PostgreSQL: `marts` and `restricted` are
staged with their grants in incoming schemas (unchanged tables moved over in the swap),
renamed onto `published` and `published_restricted` in one transaction. Both record run,
time, rows and content hash per table in `_publication` and carry the restatement ledger.
Readers see the old copy or the new one, whole (docs/decisions/005, 010).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadbridge.content import content_hash, postgres_content_hash, row_hash
from leadbridge.engine import Engine, PostgresSettings, Session, duckdb_config, literal, quote
from leadbridge.erasure import REQUESTS_TABLE
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
# A serving file with a larger share of free blocks (tables dropped by earlier nights) is
# rewritten whole instead of copied: DuckDB reuses freed blocks but never gives them back.
MAX_FREE_SHARE = 0.5
# A changed table of the serving file is patched by its row differences when they are
# at most this share of its rows, else copied whole.
PATCH_MAX_SHARE = 0.25
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
    # the tables this publication wrote (copied from the warehouse, or the ledger); the
    # others were kept from the publication in place (None: not known, a record read back)
    written: tuple[str, ...] | None = field(default=None, compare=False)
    # of those, the tables written by their row differences only (DuckDB)
    patched: tuple[str, ...] | None = field(default=None, compare=False)

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
    """Temp files of an earlier publication that crashed before its rename, and the
    folder DuckDB spills to beside one (`<file>.tmp`)."""
    for leftover in target.parent.glob(f"{target.name}.tmp-*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def publish_marts(
    warehouse_file: Path,
    target: Path,
    run_id: str,
    hidden: Unpublished | None = None,
    trust: TrustRecord | None = None,
    rewrite: bool = False,
) -> Publication:
    """Publish schema `marts` of the warehouse, less what `hidden` keeps out (default: what
    the dbt project marks unpublished), as a new read-only file swapped onto `target`.
    The new file starts as a copy of the serving file whose tables of unchanged content
    stay; the others are patched or copied from the warehouse. `rewrite`, no serving
    file, one mostly free space, or an erasure recorded since it was published: every
    table is copied into an empty file. `trust` (the checks, source loads and quarantine)
    goes beside `_publication`."""
    import duckdb

    hidden = hidden if hidden is not None else unpublished()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    temp = target.with_name(f"{target.name}.tmp-{run_id}")
    published_at = datetime.now(UTC).replace(tzinfo=None)
    in_place, free = _read_serving(target)
    based = (
        in_place is not None
        and not rewrite
        and free <= MAX_FREE_SHARE
        # the old file's free blocks and deleted rows may hold what was erased
        and not _erased_since(warehouse_file, in_place.published_at)
    )
    try:
        if based:
            shutil.copyfile(target, temp)
        with duckdb.connect(str(temp), config=duckdb_config()) as con:
            [(catalog,)] = con.execute("select current_database()").fetchall()
            con.execute(f"attach {literal(str(warehouse_file))} as working (read_only)")
            tables = _published_tables(con, hidden)
            if not tables:
                raise RuntimeError(f"{warehouse_file} has no tables in schema {MARTS_SCHEMA}")
            hashes = {
                table: content_hash(
                    con,
                    MARTS_SCHEMA,
                    table,
                    "working",
                    exclude=hidden.columns.get((MARTS_SCHEMA, table), ()),
                )
                for table in tables
            }
            # the copy's own record says what its tables hold
            held = _held_hashes(con) if based else {}
            kept = {table for table in tables if held.get(table) == hashes[table]}
            # a changed table with the same columns is patched rather than copied (a view
            # of the working marts has no row ids to patch from)
            views = {
                row[0]
                for row in con.execute(
                    "select table_name from information_schema.tables where table_catalog = "
                    "'working' and table_schema = ? and table_type = 'VIEW'",
                    [MARTS_SCHEMA],
                ).fetchall()
            }
            patchable = {
                table
                for table in tables
                if table in held
                and table not in views
                and table not in kept
                and _signature(con, catalog, table) == _signature(con, "working", table, hidden)
            }
            _drop_all_but(con, kept | patchable)
            con.execute(f"create schema if not exists {MARTS_SCHEMA}")
            patched = [table for table in sorted(patchable) if _patch(con, catalog, table)]
            copied = [table for table in tables if table not in kept and table not in patched]
            for table in copied:
                name = f"{MARTS_SCHEMA}.{quote(table)}"
                if table in patchable:  # too much of it changed
                    con.execute(f"drop table {quote(catalog)}.{name}")
                columns = ", ".join(quote(c) for c, _ in _signature(con, "working", table, hidden))
                con.execute(
                    f"create table {quote(catalog)}.{name} as select {columns} from working.{name}"
                )
            previous = None
            if in_place is not None:
                con.execute(f"attach {literal(str(target))} as previous (read_only)")
                previous = Previous(
                    in_place.run_id, in_place.published_at, Place(MARTS_SCHEMA, "previous")
                )
            night = restate(
                Session(DUCKDB, con),
                Place(MARTS_SCHEMA, catalog),
                previous,
                "working",
                run_id,
                published_at,
                kept,
            )
            if night is not None:
                tables.append(LEDGER)
                hashes[LEDGER] = content_hash(con, MARTS_SCHEMA, LEDGER)
            if previous is not None:
                con.execute("detach previous")
            con.execute("detach working")
            rows = {
                table: con.execute(
                    f"select count(*) from {MARTS_SCHEMA}.{quote(table)}"
                ).fetchall()[0][0]
                for table in tables
            }
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
    publication = _publication(target, run_id, published_at, rows, hashes, night)
    written = copied + patched + ([LEDGER] if night is not None else [])
    return replace(publication, written=tuple(written), patched=tuple(patched))


def _erased_since(warehouse_file: Path, published_at: datetime) -> bool:
    """Whether the warehouse recorded an erasure request since `published_at`."""
    import duckdb

    schema, table = REQUESTS_TABLE.split(".")
    with duckdb.connect(str(warehouse_file), read_only=True, config=duckdb_config()) as con:
        if not con.execute(
            "select 1 from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall():
            return False
        # requests are stamped to the second
        return bool(
            con.execute(
                f"select count(*) from {REQUESTS_TABLE} where requested_at >= ?",
                [published_at.replace(microsecond=0)],
            ).fetchall()[0][0]
        )


def _published_tables(con, hidden: Unpublished) -> list[str]:
    """The tables of the working warehouse's `marts` that go into the publication."""
    return [
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = 'working' and table_schema = ? order by 1",
            [MARTS_SCHEMA],
        ).fetchall()
        if hidden.keeps(MARTS_SCHEMA, row[0])
    ]


def _signature(
    con, catalog: str, table: str, hidden: Unpublished | None = None
) -> list[tuple[str, str]]:
    """(column, type) of a `marts` table in `catalog`, less the columns `hidden` keeps out."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns where "
        "table_catalog = ? and table_schema = ? and table_name = ? order by ordinal_position",
        [catalog, MARTS_SCHEMA, table],
    ).fetchall()
    shown = set((hidden or Unpublished()).published_columns(MARTS_SCHEMA, table, dict(columns)))
    return [(name, dtype) for name, dtype in columns if name in shown]


def _patch(con, catalog: str, table: str) -> bool:
    """Make the publication's copy of `table` hold the working table's rows by deleting
    the rows it has too many of and inserting those it lacks, rows told apart by a hash
    of their exact values and counted with their duplicates. False, and nothing done,
    when more than PATCH_MAX_SHARE of the rows would change: copying costs less then."""
    columns = [quote(c) for c, _ in _signature(con, catalog, table)]
    ours = f"{quote(catalog)}.{MARTS_SCHEMA}.{quote(table)}"
    theirs = f"working.{MARTS_SCHEMA}.{quote(table)}"
    key = row_hash(DUCKDB, columns)
    # each row's hash once per side; the hashes whose counts differ, by how much
    con.execute(f"create temp table patch_ours as select rowid as row, {key} as h from {ours}")
    con.execute(f"create temp table patch_theirs as select rowid as row, {key} as h from {theirs}")
    con.execute(
        "create temp table patch_diff as select h, sum(d)::bigint as d from ("
        "select h, 1 as d from patch_ours union all select h, -1 from patch_theirs"
        ") group by h having sum(d) <> 0"
    )
    [(held, changed)] = con.execute(
        "select (select count(*) from patch_ours), "
        "(select coalesce(sum(abs(d)), 0) from patch_diff)"
    ).fetchall()
    patch = changed <= PATCH_MAX_SHARE * held
    if patch:

        def rows_of(hashes: str, sign: str) -> str:
            """The row ids of as many rows per hash as the difference (signed) says."""
            return (
                f"select row from (select row, h, row_number() over (partition by h) as n "
                f"from {hashes} where h in (select h from patch_diff where {sign}d > 0)) r "
                f"join patch_diff using (h) where r.n <= {sign}patch_diff.d"
            )

        con.execute(f"delete from {ours} where rowid in ({rows_of('patch_ours', '')})")
        con.execute(
            f"insert into {ours} select {', '.join(columns)} from {theirs} "
            f"where rowid in ({rows_of('patch_theirs', '-')})"
        )
    for temp in ("patch_ours", "patch_theirs", "patch_diff"):
        con.execute(f"drop table {temp}")
    return patch


def _held_hashes(con) -> dict[str, str]:
    """Table → content hash the publication being built was copied with (its record)."""
    return dict(
        con.execute(
            f"select table_name, content_hash from main.{PUBLICATION_TABLE} where table_schema = ?",
            [MARTS_SCHEMA],
        ).fetchall()
    )


def _drop_all_but(con, kept: set[str]) -> None:
    """Drop from the file being built everything but the `kept` tables of `marts`, then
    checkpoint, so that the tables copied next can reuse the blocks freed."""
    objects = con.execute(
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_catalog = current_database()"
    ).fetchall()
    dropped = False
    for schema, table, kind in objects:
        if schema == MARTS_SCHEMA and table in kept:
            continue
        what = "view" if kind == "VIEW" else "table"
        con.execute(f"drop {what} {quote(schema)}.{quote(table)}")
        dropped = True
    if dropped:
        con.execute("checkpoint")


def read_publication(path: Path, log: Any = None) -> Publication | None:
    """The `_publication` record of a serving file, read-only; None if there is none, or
    if the file cannot be read (then the next publication replaces it; `log` says so)."""
    return _read_serving(path, log)[0]


def _read_serving(path: Path, log: Any = None) -> tuple[Publication | None, float]:
    """A serving file's publication record, and the share of its blocks that are free."""
    import duckdb

    if not path.exists():
        return None, 0.0
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            records = con.execute(
                f"select run_id, published_at, table_name, row_count, content_hash "
                f"from main.{PUBLICATION_TABLE} order by table_name"
            ).fetchall()
            [(total, free)] = con.execute(
                "select total_blocks, free_blocks from pragma_database_size() "
                "where database_name = current_database()"
            ).fetchall()
    except duckdb.Error as error:
        (log or LOG).warning(
            f"the published file {path} cannot be read, so it counts as no publication "
            f"(the next publication replaces it): {error}"
        )
        return None, 0.0
    if not records:
        return None, 0.0
    publication = Publication(
        path=path,
        run_id=records[0][0],
        published_at=records[0][1],
        rows={r[2]: r[3] for r in records},
        hashes={r[2]: r[4] for r in records},
    )
    return publication, free / total if total else 0.0


def publish_postgres(
    settings: PostgresSettings,
    run_id: str,
    hidden: Unpublished | None = None,
    trust: TrustRecord | None = None,
    rewrite: bool = False,
) -> dict[str, Publication]:
    """Stage `marts` (and `restricted`, when it exists), less what `hidden` keeps out, in
    fresh schemas, then swap them onto their serving schemas in one transaction; the
    publications by working schema. A table whose content and grants the serving schema
    already holds is not copied: the swap moves it into the new schema (`rewrite`: every
    table is copied)."""
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
            staged = {
                source: _stage_schema(
                    cursor,
                    settings,
                    source,
                    target,
                    run_id,
                    published_at,
                    hidden,
                    previous,
                    None if rewrite else _postgres_record(cursor, settings, target),
                )
                for source, target in SERVING_SCHEMAS.items()
                if source in present
            }
            if trust is not None:
                _stage_trust(connection, serving + INCOMING, trust)
        _swap_all(connection, [stage for _, stage in staged.values()])
        publications = {source: publication for source, (publication, _) in staged.items()}
        if publications[MARTS_SCHEMA].restatements is not None:
            with connection:
                keep_ledger(Session(POSTGRES, connection), Place(serving))
    finally:
        connection.close()
    return publications


@dataclass(frozen=True)
class _Staged:
    """What the swap does for one serving schema: the tables it moves over from the
    publication `held_run` into the incoming schema, where views stand in for them."""

    serving: str
    held_run: str | None = None
    kept: tuple[str, ...] = ()


def _swap_all(connection, staged: list[_Staged]) -> None:
    """Swap every incoming schema in one transaction. Dropping the old tables takes their
    locks one by one, so a BI statement reading several of them can deadlock with it;
    the server then aborts one side, and when that is us the swap is simply retried."""
    import psycopg2.errors

    for attempt in range(1, SWAP_ATTEMPTS + 1):
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(f"set local lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
                for stage in staged:
                    _swap(cursor, stage)
            return
        except (psycopg2.errors.DeadlockDetected, psycopg2.errors.LockNotAvailable):
            if attempt == SWAP_ATTEMPTS:
                raise
            time.sleep(attempt)


def _stage_schema(
    cursor,
    settings,
    source,
    serving,
    run_id,
    published_at,
    hidden: Unpublished,
    previous,
    held: Publication | None,
) -> tuple[Publication, _Staged]:
    """Stage every table of `source` that `hidden` keeps in, with its grants, in
    `<serving>__incoming`: copied, or a view on the table of `held` (the publication in
    place) that has its content and grants; for `marts`, add the restatement ledger
    against `previous`."""
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
    rows, hashes, kept = {}, {}, []
    for table in tables:
        excluded = hidden.columns.get((source, table), ())
        hashes[table] = postgres_content_hash(cursor, source, table, excluded)
        grants = _table_grants(cursor, source, table)
        grantees |= {"public" if grantee is None else quote(grantee) for grantee, *_ in grants}
        name = f"{incoming}.{quote(table)}"
        if (
            held is not None
            and held.hashes.get(table) == hashes[table]
            and _table_grants(cursor, serving, table) == grants
        ):
            cursor.execute(f"create view {name} as select * from {quote(serving)}.{quote(table)}")
            rows[table] = held.rows[table]
            kept.append(table)
            continue
        cursor.execute(
            "select column_name from information_schema.columns "
            "where table_schema = %s and table_name = %s order by ordinal_position",
            (source, table),
        )
        columns = hidden.published_columns(source, table, [row[0] for row in cursor.fetchall()])
        cursor.execute(
            f"create table {name} as "
            f"select {', '.join(quote(c) for c in columns)} from {quote(source)}.{quote(table)}"
        )
        for grantee, privilege, grantable in grants:
            role = "public" if grantee is None else quote(grantee)
            cursor.execute(
                f"grant {privilege} on {name} to {role}"
                + (" with grant option" if grantable else "")
            )
        cursor.execute(f"select count(*) from {name}")
        rows[table] = cursor.fetchone()[0]
    night = None
    if source == MARTS_SCHEMA:
        session = Session(POSTGRES, cursor.connection)
        night = restate(
            session, Place(serving + INCOMING), previous, None, run_id, published_at, kept
        )
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
    publication = _publication(
        f"{settings.url}#{serving}", run_id, published_at, rows, hashes, night
    )
    written = tuple(table for table in tables if table not in kept)
    stage = _Staged(serving, held.run_id if kept else None, tuple(kept))
    return replace(publication, written=written), stage


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


def _swap(cursor, stage: _Staged) -> None:
    """Inside the caller's transaction: the incoming schema, with the kept tables moved
    into it from the serving schema, becomes the serving schema."""
    serving, incoming = quote(stage.serving), quote(stage.serving + INCOMING)
    if stage.kept:
        cursor.execute(f"select distinct run_id from {serving}.{PUBLICATION_TABLE}")
        found = [row[0] for row in cursor.fetchall()]
        if found != [stage.held_run]:
            raise RuntimeError(
                f"the publication in {stage.serving} changed while this one was staged "
                f"(run {found}, expected {stage.held_run}): publish again"
            )
    for table in stage.kept:
        cursor.execute(f"drop view {incoming}.{quote(table)}")
        cursor.execute(f"alter table {serving}.{quote(table)} set schema {incoming}")
    retired = quote(stage.serving + RETIRED)
    cursor.execute(f"drop schema if exists {retired} cascade")
    cursor.execute("select 1 from pg_namespace where nspname = %s", (stage.serving,))
    if cursor.fetchone():
        cursor.execute(f"alter schema {serving} rename to {retired}")
    cursor.execute(f"alter schema {incoming} rename to {serving}")
    cursor.execute(f"drop schema if exists {retired} cascade")


def read_postgres_publication(
    settings: PostgresSettings, schema: str = SERVING_SCHEMAS[MARTS_SCHEMA]
) -> Publication | None:
    """The `_publication` record of a serving schema; None if there is none."""
    connection = settings.connect()
    try:
        connection.set_session(readonly=True, autocommit=True)
        with connection.cursor() as cursor:
            return _postgres_record(cursor, settings, schema)
    finally:
        connection.close()


def _postgres_record(cursor, settings: PostgresSettings, schema: str) -> Publication | None:
    """The `_publication` record of a serving schema, on the caller's cursor."""
    cursor.execute(
        "select 1 from information_schema.tables where table_schema = %s and table_name = %s",
        (schema, PUBLICATION_TABLE),
    )
    if cursor.fetchone() is None:
        return None
    cursor.execute(
        "select run_id, published_at, table_name, row_count, content_hash "
        f"from {quote(schema)}.{PUBLICATION_TABLE} order by table_name"
    )
    records = cursor.fetchall()
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
    """The publication BI tools read now: `published_file` on DuckDB, schema (Spark:
    database) `published` on PostgreSQL and Spark; None if there is none."""
    if engine.is_spark:
        with engine.reader() as session:
            return read_spark_publication(session.connection)
    if engine.postgres is not None:
        return read_postgres_publication(engine.postgres)
    return read_publication(published_file, log)


def read_spark_publication(
    spark: Any, serving: str = SERVING_SCHEMAS[MARTS_SCHEMA]
) -> Publication | None:
    """The `_publication` record BI reads in `serving`; None if there is none."""
    if not spark.catalog.tableExists(PUBLICATION_TABLE, serving):
        return None
    records = spark.sql(
        "select run_id, published_at, table_name, row_count, content_hash "
        f"from `{serving}`.{PUBLICATION_TABLE} order by table_name"
    ).collect()
    if not records:
        return None
    return Publication(
        f"spark#{serving}",
        records[0][0],
        records[0][1],
        {r[2]: r[3] for r in records},
        {r[2]: r[4] for r in records},
    )
