"""Write–audit–publish: the marts BI tools read are a separate copy, swapped in whole.

On DuckDB (the default) the copy is a separate file; on PostgreSQL
(`LEADBRIDGE_TARGET=postgres`) it is a schema, swapped in one transaction (at the end).

The nightly run writes (dlt loads, `dbt build`) and audits (Great Expectations checks on
the raw tables, dbt tests on every model) inside the working warehouse, the private
place no BI tool reads. Only when all of that has passed does `published/marts` copy
the schema `marts` into a serving file that BI tools open read-only.

Why a separate file, swapped with `os.replace`, and not a schema or a view in the
warehouse: DuckDB lets nobody open a file, not even read-only, while another process
writes it, so BI tools could not read the warehouse during a run at all. The serving
file is never written in place:
1. the tables of schema `marts`, less what dbt marks `meta: {publish: false}`, are copied
   from the working warehouse (attached read-only) into a *new* file beside the serving
   path, `<serving>.tmp-<run id>`, with a `_publication` table (run, time, rows, hashes);
2. the new file is checkpointed and closed (no WAL beside it), made read-only, fsynced;
3. `os.replace()` renames it onto the serving path (atomic on POSIX within one file
   system; a stale `.wal` a reader left there goes first); the directory is fsynced.
A reader that opens the path gets the old file or the new one, whole; a reader that
already has the old file open keeps reading the old inode until it closes. Readers
never hold a lock the publisher needs (it writes a different file), and the publisher
never waits for readers.

When the night fails, this asset does not run: it depends on every dbt asset of group
`marts`, so Dagster skips it when the `dbt build` step fails or is skipped (a blocking
raw check failed), and it waits for every blocking check on the marts (dbt tests, and any
Great Expectations suite on a mart) — Dagster skips it when one of them fails. Run alone,
it refuses unless they passed on the marts in place. Either way yesterday's marts stay.

The content hash of a table is order independent (a sum of row hashes, so duplicated
rows count) and includes the column names and types. Floating-point columns are
rounded to 9 decimals before hashing so that a sum computed in a different order on
another night does not change the hash when the data did not change. The hash uses
DuckDB's `hash()`: compare publications made by the same DuckDB version.

The serving file has schema `marts` (the same queries work on the warehouse and on it)
and `main._publication`, one row per table. Its freshness policy (Dagster's freshness
daemon, on by default since 1.12) turns the asset stale in the UI when no night has
published for 25 h (warn) / 26 h (fail). Schema `restricted` (clear contact details,
PostgreSQL roles only) never goes into the serving file.

On PostgreSQL, BI tools connect to the warehouse's server with their own roles, and a
schema swap does what the file swap does, with the server's transactions instead of
`os.replace`:
1. every table of schema `marts` is copied into a fresh schema `published__incoming`,
   with the table privileges the catalog holds for the working table (dbt's `grants:`
   put them there) and USAGE on the schema for those grantees: a role sees in
   `published` exactly the tables it may read in `marts`, and nothing of the working
   schemas, where it has no USAGE;
2. `published__incoming._publication` records run, time, rows and content hash per
   table (the same columns as the file's), readable by the same grantees;
3. then, in one transaction, `published` is renamed away, `published__incoming` renamed
   to `published`, and the old one dropped.
`restricted` becomes `published_restricted` the same way, in the same swap transaction,
when the schema exists. A reader sees the old schemas or the new ones, whole; a crash
before the swap leaves only an incoming schema, which the next publication drops. The
swap waits at most `SWAP_LOCK_TIMEOUT` for a BI session that keeps a transaction open on
the old tables, and is retried `SWAP_ATTEMPTS` times, then fails the run rather than
hang (yesterday's marts stay). The content hash there is a sum of the rows' md5 (first
64 bits) over their text form, with the same rounding and column list: compare it with
other PostgreSQL publications, not with DuckDB's.
"""

import hashlib
import json
import os
import stat
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from leadbridge.content import content_hash, postgres_content_hash
from leadbridge.engine import PostgresSettings, duckdb_config, quote, target_name
from leadbridge.inputs import INPUTS_TAG
from orchestration.defs.quality import QUALITY_CHECKS
from orchestration.defs.resources import Warehouse
from orchestration.defs.transform import DBT_PROJECT, dbt_build

PUBLISHED_KEY = dg.AssetKey(["published", "marts"])
INPUTS_METADATA = "inputs"  # the build's inputs fingerprint (leadbridge/inputs.py)
MARTS_SCHEMA = "marts"
RESTRICTED_SCHEMA = "restricted"
PUBLICATION_TABLE = "_publication"
# Working schema → the schema BI roles read (PostgreSQL).
SERVING_SCHEMAS = {MARTS_SCHEMA: "published", RESTRICTED_SCHEMA: "published_restricted"}
INCOMING, RETIRED = "__incoming", "__retired"
SWAP_LOCK_TIMEOUT = "120s"
SWAP_ATTEMPTS = 3
# The nightly runs at 02:00; a day and two hours without a publication means a night
# was missed (or failed), a day and one hour is worth a warning.
FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
)
MART_KEYS = sorted(
    (spec.key for spec in dbt_build.specs if spec.group_name == MARTS_SCHEMA),
    key=lambda key: key.to_user_string(),
)
RESTRICTED_KEYS = sorted(
    (spec.key for spec in dbt_build.specs if spec.group_name == RESTRICTED_SCHEMA),
    key=lambda key: key.to_user_string(),
)
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
    def from_manifest(cls, manifest_path: Path) -> "Unpublished":
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


def unpublished() -> Unpublished:
    """What the dbt project keeps out of the publication (its manifest's `meta`)."""
    return Unpublished.from_manifest(DBT_PROJECT.manifest_path)


@dataclass(frozen=True)
class Publication:
    """What one publication put into the serving file (or a PostgreSQL serving schema)."""

    # the serving file; on PostgreSQL `postgresql://host:port/database#schema`
    path: Path | str
    run_id: str
    published_at: datetime
    rows: dict[str, int]
    hashes: dict[str, str]

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
    warehouse_file: Path, target: Path, run_id: str, hidden: Unpublished | None = None
) -> Publication:
    """Copy schema `marts` of the warehouse, less what `hidden` keeps out (default: what
    the dbt project marks unpublished), into a new read-only file; swap it onto `target`."""
    import duckdb

    hidden = hidden if hidden is not None else unpublished()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    temp = target.with_name(f"{target.name}.tmp-{run_id}")
    published_at = datetime.now(UTC).replace(tzinfo=None)
    try:
        with duckdb.connect(str(temp), config=duckdb_config()) as con:
            con.execute(f"attach {_sql_string(str(warehouse_file))} as working (read_only)")
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
    return Publication(target, run_id, published_at, rows, hashes)


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def read_publication(path: Path) -> Publication | None:
    """The `_publication` record of a serving file, read-only; None if there is none, or
    if the file cannot be read (then the next publication replaces it)."""
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
        dg.get_dagster_logger().warning(
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
    settings: PostgresSettings, run_id: str, hidden: Unpublished | None = None
) -> dict[str, Publication]:
    """Copy `marts` (and `restricted`, when it exists), less what `hidden` keeps out, into
    fresh schemas, then swap them onto their serving schemas in one transaction; the
    publications by working schema."""
    hidden = hidden if hidden is not None else unpublished()
    published_at = datetime.now(UTC).replace(tzinfo=None)
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
                    cursor, settings, source, serving, run_id, published_at, hidden
                )
                for source, serving in SERVING_SCHEMAS.items()
                if source in present
            }
        _swap_all(connection, [SERVING_SCHEMAS[source] for source in publications])
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
    cursor, settings, source, serving, run_id, published_at, hidden: Unpublished
) -> Publication:
    """Copy every table of `source` that `hidden` keeps in, with its grants, into
    `<serving>__incoming`."""
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
        cursor.execute(f"grant select on {incoming}.{PUBLICATION_TABLE} to {role}")
    return Publication(f"{settings.url}#{serving}", run_id, published_at, rows, hashes)


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


def unchanged_publication(
    instance: dg.DagsterInstance, warehouse: Warehouse, inputs: str
) -> str | None:
    """The run id of the publication BI tools read when it was built from `inputs`
    (leadbridge/inputs.py), else None: its materialization recorded them, and the
    file or schema in place is still the one that run published."""
    event = instance.get_latest_materialization_event(PUBLISHED_KEY)
    if event is None or event.asset_materialization is None:
        return None
    recorded = event.asset_materialization.metadata.get(INPUTS_METADATA)
    if recorded is None or recorded.value != inputs:
        return None
    engine = warehouse.engine
    if engine.postgres is not None:
        in_place = read_postgres_publication(engine.postgres)
    else:
        in_place = read_publication(warehouse.published_file)
    if in_place is None or in_place.run_id != event.run_id:
        return None
    return event.run_id


def blocking_checks(
    definitions: Iterable[dg.AssetsDefinition], keys: Iterable[dg.AssetKey]
) -> list[dg.AssetCheckSpec]:
    """The blocking checks of `definitions` on `keys`, by asset and name."""
    wanted = set(keys)
    specs = {
        spec.key: spec
        for definition in definitions
        for spec in definition.check_specs
        if spec.blocking and spec.asset_key in wanted
    }
    return sorted(specs.values(), key=lambda spec: (spec.asset_key.to_user_string(), spec.name))


# What must have passed on the marts before they are published: the dbt tests (checks of
# the dbt assets) and the Great Expectations suites on them. Listed here, not looked up in
# the run's code location, because a run started in process has none to look in; a unit
# test holds this to every blocking check the assembled definitions have on the marts.
MART_CHECKS = blocking_checks([dbt_build, *QUALITY_CHECKS], [*MART_KEYS, *RESTRICTED_KEYS])


def unverified_checks(
    instance: dg.DagsterInstance, checks: Iterable[dg.AssetCheckSpec]
) -> list[str]:
    """Why each of `checks` does not vouch for its asset as it is now (empty: all do). A
    check vouches when its latest evaluation passed (or failed as a warning only) and was
    made on the asset's latest materialization: in the same run, or naming it."""
    reasons = []
    for spec in checks:
        name = f"{spec.asset_key.to_user_string()}:{spec.name}"
        record = instance.get_latest_asset_check_evaluation_record(spec.key)
        # a planned evaluation (its run failed or stopped before the check) has no result
        evaluation = record.evaluation if record is not None else None
        if record is None or not isinstance(evaluation, dg.AssetCheckEvaluation):
            reasons.append(
                f"{name} has no result"
                + (f" (run {record.run_id[:8]} did not get to it)" if record else "")
            )
            continue
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            reasons.append(f"{name} failed in run {record.run_id[:8]}")
            continue
        latest = instance.fetch_materializations(spec.asset_key, limit=1).records
        target = evaluation.target_materialization_data
        if (
            latest
            and record.run_id != latest[0].run_id
            and (target is None or target.storage_id != latest[0].storage_id)
        ):
            reasons.append(
                f"{name} last ran in run {record.run_id[:8]}, before the latest "
                f"materialization of {spec.asset_key.to_user_string()} "
                f"(run {latest[0].run_id[:8]})"
            )
    return reasons


@dg.asset(
    key=PUBLISHED_KEY,
    deps=[*MART_KEYS, *RESTRICTED_KEYS],
    group_name="publish",
    kinds={target_name()},
    freshness_policy=FRESHNESS,
    description="The marts as BI tools read them, replaced atomically only after every "
    "blocking check of the night passed. DuckDB: a read-only file "
    "(`data/published/leadbridge_marts.duckdb`, or `$LEADBRIDGE_PUBLISHED`), schema "
    "`marts`. PostgreSQL: schema `published` (and `published_restricted` for the "
    "restricted models), with the grants dbt gave the working tables. `_publication` "
    "records the run, the time and rows and a content hash per table.",
)
def published_marts(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Publish schema `marts` of the working warehouse to the serving file or schema."""
    # In the nightly run Dagster only starts this step when the blocking checks passed;
    # a run of this asset alone (the UI's Materialize, `dagster asset materialize`) has no
    # such guard, so the verdicts recorded on the marts in place are required here.
    refused = unverified_checks(context.instance, MART_CHECKS)
    if refused:
        raise dg.Failure(
            description="refused to publish: every blocking check on the marts must have "
            f"passed on the marts in place, but {'; '.join(refused)}. Run the nightly job "
            "(or materialize the marts with their checks) first",
            metadata={"checks_not_passed": refused},
        )
    engine = warehouse.engine
    hidden = unpublished()
    extra: dict[str, Any] = {}
    if engine.postgres is not None:
        publications = publish_postgres(engine.postgres, context.run.run_id, hidden)
        publication = publications[MARTS_SCHEMA]
        extra["location"] = str(publication.path)
        restricted = publications.get(RESTRICTED_SCHEMA)
        if restricted is not None:
            extra["restricted_tables"] = len(restricted.rows)
            extra["restricted_content_hash"] = restricted.content_hash
            context.log.info(
                f"published {len(restricted.rows)} restricted tables to {restricted.path}"
            )
    else:
        publication = publish_marts(
            warehouse.file, warehouse.published_file, context.run.run_id, hidden
        )
        extra["path"] = dg.MetadataValue.path(str(publication.path))
    total = sum(publication.rows.values())
    context.log.info(
        f"published {len(publication.rows)} tables ({total} rows) on {engine.name} to "
        f"{publication.path} (content hash {publication.content_hash})"
    )
    table = "\n".join(
        ["| table | rows | content hash |", "|---|---:|---|"]
        + [
            f"| {MARTS_SCHEMA}.{name} | {publication.rows[name]} | `{publication.hashes[name]}` |"
            for name in sorted(publication.rows)
        ]
    )
    # dbt_build tagged the run with its inputs (a run with an as_of); read back from the
    # instance, as the run object of the context predates the tag
    run = context.instance.get_run_by_id(context.run.run_id)
    inputs = run.tags.get(INPUTS_TAG) if run is not None else None
    if inputs:
        extra[INPUTS_METADATA] = inputs
    return dg.MaterializeResult(
        metadata={
            **extra,
            "engine": engine.name,
            "tables": len(publication.rows),
            "dagster/row_count": total,
            "content_hash": publication.content_hash,
            "published_at": publication.published_at.isoformat(timespec="seconds") + "Z",
            "table_rows": dg.MetadataValue.md(table),
        }
    )


PUBLISH_ASSETS = [published_marts]
