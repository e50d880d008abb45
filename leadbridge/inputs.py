"""What a night's build reads, as fingerprints: when they are those of the publication
BI tools already read, a rebuild would give the same marts, so the run skips it.

The inputs are the content of every raw table and of the erasure requests (`privacy`),
hashed without dlt's `_dlt_load_id` and `_dlt_id` (a re-sent unchanged record is not new
content; an erasure rewrites values in place), the dbt project's files and the Great
Expectations suites, the engine and the night (`as_of`; a run without one always
builds). A raw table's suite is skipped the same way (leadbridge/quality/ledger.py).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

from ingestion.pipelines import FEEDS
from leadbridge.content import content_hash, postgres_content_hash, spark_content_hash
from leadbridge.engine import Engine, Session
from leadbridge.erasure import PRIVACY_SCHEMA
from leadbridge.paths import DBT_PROJECT_DIR, EXPECTATIONS_DIR

RAW_SCHEMAS = tuple(FEEDS)  # each feed loads into the dataset of its name
INPUT_SCHEMAS = (*RAW_SCHEMAS, PRIVACY_SCHEMA)
DLT_COLUMNS = ("_dlt_load_id", "_dlt_id")
# What dbt reads besides the warehouse: dbt's own output (target/, logs/) is not input.
PROJECT_INPUTS = ("models", "macros", "seeds", "snapshots", "tests", "analyses")
PROJECT_FILES = ("dbt_project.yml", "profiles.yml")
INPUTS_TAG = "leadbridge/inputs"  # run tag: the fingerprint of the night's build
UNCHANGED_TAG = "leadbridge/unchanged_since"  # run tag: the run whose publication stands
_TABLE_REFERENCE = re.compile(r"\b(" + "|".join(RAW_SCHEMAS) + r")\.\"?(\w+)", re.IGNORECASE)


def table_hash(session: Session, schema: str, table: str) -> str:
    """Content hash of one table, dlt's bookkeeping columns left out."""
    if session.engine == "spark":
        return spark_content_hash(session, schema, table, exclude=DLT_COLUMNS)
    if session.engine == "postgres":
        with session.connection.cursor() as cursor:
            return postgres_content_hash(cursor, schema, table, exclude=DLT_COLUMNS)
    return content_hash(session.connection, schema, table, exclude=DLT_COLUMNS)


def input_tables(session: Session, schemas: Iterable[str] = INPUT_SCHEMAS) -> list[str]:
    """`schema.table` of every base table in `schemas` but dlt's own (`_dlt_*`)."""
    wanted = list(schemas)
    if not wanted:
        return []
    if session.engine == "spark":  # raw tables are views there (leadbridge/spark.py)
        catalog = session.connection.catalog
        rows = [
            (schema, table.name)
            for schema in wanted
            if catalog.databaseExists(schema)
            for table in catalog.listTables(schema)
            if not table.isTemporary
        ]
        return sorted(f"{s}.{t}" for s, t in rows if not t.startswith("_dlt"))
    rows = session.rows(
        "select table_schema, table_name from information_schema.tables "
        f"where table_type = 'BASE TABLE' and table_schema in ({', '.join('?' for _ in wanted)})",
        wanted,
    )
    return sorted(f"{s}.{t}" for s, t in rows if not t.startswith("_dlt"))


def tables_digest(session: Session, tables: Iterable[str] | None = None) -> str:
    """One hash over the content of `tables` (`schema.table`; default every input table);
    a missing one counts as missing, not as an error."""
    wanted = None if tables is None else sorted(set(tables))
    schemas = INPUT_SCHEMAS if wanted is None else {t.partition(".")[0] for t in wanted}
    present = input_tables(session, schemas)
    parts = []
    for name in present if wanted is None else wanted:
        schema, _, table = name.partition(".")
        parts.append(f"{name}={table_hash(session, schema, table) if name in present else '-'}")
    return _digest(parts)


def files_digest(paths: Iterable[Path], root: Path) -> str:
    """One hash over the names (relative to `root`) and bytes of `paths`."""
    parts = []
    for path in sorted(paths):
        parts.append(f"{path.relative_to(root)}={hashlib.sha256(path.read_bytes()).hexdigest()}")
    return _digest(parts)


def project_digest(project_dir: Path = DBT_PROJECT_DIR, suites: Path = EXPECTATIONS_DIR) -> str:
    """Hash of what the build and its checks read besides the warehouse."""
    files = [project_dir / name for name in PROJECT_FILES if (project_dir / name).exists()]
    for folder in PROJECT_INPUTS:
        files += [p for p in (project_dir / folder).rglob("*") if p.is_file()]
    return _digest(
        [
            files_digest(files, project_dir),
            files_digest([p for p in suites.glob("*.json")], suites),
        ]
    )


def build_inputs(engine: Engine, as_of: str) -> str:
    """The fingerprint of a build of the night `as_of` on `engine`."""
    with engine.reader() as session:
        tables = tables_digest(session)
    return _digest([f"engine={engine.name}", f"as_of={as_of}", project_digest(), tables])


def tables_read_by(query: str) -> list[str]:
    """The raw tables (`schema.table`) a suite's query names."""
    return sorted({f"{s.lower()}.{t.lower()}" for s, t in _TABLE_REFERENCE.findall(query)})


def _digest(parts: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
