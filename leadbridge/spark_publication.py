"""The publication on Spark: views BI reads, re-pointed to the night's copies of the marts.

dbt rebuilds `marts` in place, so each night's published tables are copied into a
database of their own (`published_<run>`, Parquet), with their `_publication` record;
then every view of `published` (and `published_restricted`) is re-pointed to them. Each
view's switch is one metastore call, atomic for that view; the switch of the whole set
is not (no multi-table transactions in the Hive metastore): for the moment between the
first and the last switch, a query joining two views may see one night in one and the
previous night in the other. The previous night's copies stay until the next
publication, so queries started before a switch finish on them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from leadbridge.content import spark_content_hash
from leadbridge.engine import SPARK, Session, literal
from leadbridge.publication import (
    MARTS_SCHEMA,
    PUBLICATION_TABLE,
    SERVING_SCHEMAS,
    Publication,
    Unpublished,
    unpublished,
)

_NOT_COMPARED = "past KPI values are not compared on Spark (no restatement ledger there)"


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def night_database(serving: str, run_id: str) -> str:
    """The database that holds one night's copies for the serving database `serving`."""
    return f"{serving}_{re.sub(r'[^0-9a-z]', '', run_id.lower())[:12]}"


def publish_spark(
    spark: Any, run_id: str, hidden: Unpublished | None = None
) -> dict[str, Publication]:
    """Copy `marts` (and `restricted`, when it exists), less what `hidden` keeps out, into
    the night's databases, then re-point the serving views to them; the publications by
    working schema. `spark`: a session on the Spark server."""
    hidden = hidden if hidden is not None else unpublished()
    session = Session(SPARK, spark)
    published_at = datetime.now(UTC).replace(tzinfo=None)
    if not spark.catalog.databaseExists(MARTS_SCHEMA):
        raise RuntimeError(f"the Spark warehouse has no database {MARTS_SCHEMA}")
    publications = {}
    for source, serving in SERVING_SCHEMAS.items():
        if spark.catalog.databaseExists(source):
            publications[source] = _copy(session, source, serving, run_id, published_at, hidden)
    for source, serving in SERVING_SCHEMAS.items():
        if source in publications:
            _switch(spark, serving, night_database(serving, run_id), publications[source])
    return publications


def _copy(
    session: Session,
    source: str,
    serving: str,
    run_id: str,
    published_at: datetime,
    hidden: Unpublished,
) -> Publication:
    """The night's copy of `source`'s published tables and its `_publication` record."""
    spark = session.connection
    night = night_database(serving, run_id)
    spark.sql(f"drop database if exists {_q(night)} cascade")
    spark.sql(f"create database {_q(night)}")
    rows, hashes = {}, {}
    for table in sorted(t.name for t in spark.catalog.listTables(source)):
        if not hidden.keeps(source, table):
            continue
        columns = hidden.published_columns(
            source, table, spark.table(f"{_q(source)}.{_q(table)}").columns
        )
        selected = ", ".join(_q(c) for c in columns)
        spark.sql(
            f"create table {_q(night)}.{_q(table)} using parquet as "
            f"select {selected} from {_q(source)}.{_q(table)}"
        )
        rows[table] = int(session.rows(f"select count(*) from {_q(night)}.{_q(table)}")[0][0])
        hashes[table] = spark_content_hash(session, night, table)
    at = published_at.isoformat(sep=" ")
    values = ", ".join(
        f"({literal(run_id)}, timestamp {literal(at)}, {literal(t)}, {rows[t]}, "
        f"{literal(hashes[t])})"
        for t in sorted(rows)
    )
    spark.sql(
        f"create table {_q(night)}.{PUBLICATION_TABLE} using parquet as select * from "
        f"values {values} as record(run_id, published_at, table_name, row_count, content_hash)"
    )
    return Publication(
        f"spark#{serving}",
        run_id,
        published_at,
        rows,
        hashes,
        restatement_error=_NOT_COMPARED,
        written=tuple(sorted(rows)),
        patched=(),
    )


def _switch(spark: Any, serving: str, night: str, publication: Publication) -> None:
    """Re-point the views of `serving` to `night`; `_publication` last, so that a record
    read says at most what every view already shows. Then drop the views of tables no
    longer published and the copies of nights before the previous one."""
    spark.sql(f"create database if not exists {_q(serving)}")
    before = {t.name for t in spark.catalog.listTables(serving)}
    previous = _pointed_to(spark, serving) if PUBLICATION_TABLE in before else None
    for table in [*sorted(publication.rows), PUBLICATION_TABLE]:
        spark.sql(
            f"create or replace view {_q(serving)}.{_q(table)} as "
            f"select * from {_q(night)}.{_q(table)}"
        )
    for table in before - set(publication.rows) - {PUBLICATION_TABLE}:
        spark.sql(f"drop view if exists {_q(serving)}.{_q(table)}")
    keep = {night, previous}
    for database in spark.catalog.listDatabases(f"{serving}_*"):
        if database.name not in keep and re.fullmatch(
            rf"{serving}_[0-9a-z]{{1,12}}", database.name
        ):
            spark.sql(f"drop database if exists {_q(database.name)} cascade")


def _pointed_to(spark: Any, serving: str) -> str | None:
    """The night database the `_publication` view of `serving` reads now."""
    text = spark.sql(f"show create table {_q(serving)}.{PUBLICATION_TABLE}").first()[0]
    found = re.search(rf"`?({re.escape(serving)}_[0-9a-z]+)`?\s*\.", text)
    return found.group(1) if found else None
