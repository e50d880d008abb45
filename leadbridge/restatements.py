"""The restatement ledger: which KPI values of past periods a publication changed, and why.

At publish time the KPIs of the marts being published are compared with those of the
publication in place; each past value that moved becomes a row of `mart_restatements`
with the causes the night's evidence points at. The ledger travels with the publication
(previous rows carried forward) and is kept in the working warehouse after the swap, so
neither copy alone is its only home (docs/decisions/009-restatements.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from leadbridge.engine import Session, literal, quote
from leadbridge.erasure import IDENTIFIERS_TABLE, PRIVACY_SCHEMA, REQUESTS_TABLE
from leadbridge.settings import DUCKDB

LEDGER = "mart_restatements"
# The ledger's copy in the working warehouse: its own schema, which dbt never builds into.
LEDGER_SCHEMA = "restatements"
KPIS_DAILY, FUNNEL = "mart_kpis_daily", "fct_funnel"
DAY, MONTH = "day", "month"
# Why a value moved, in the order a row lists them.
LATE_HISTORY = "late_history"
IDENTITY = "identity"
ERASURE = "erasure"
CONTRACT_CHANGE = "contract_change"
SOURCE_DELETE = "source_delete"
UNATTRIBUTED = "unattributed"
CAUSES = (LATE_HISTORY, IDENTITY, ERASURE, SOURCE_DELETE, CONTRACT_CHANGE)
# Two values differ when apart by more than this share of the larger (at least 1): the
# amounts and rates are decimals that pass through doubles.
TOLERANCE = 1e-9
LEDGER_COLUMNS = (
    ("run_id", "text"),
    ("published_at", "timestamp"),
    ("previous_run_id", "text"),
    ("mart", "text"),
    ("grain", "text"),
    ("period_start", "date"),
    ("kpi", "text"),
    ("old_value", "double precision"),
    ("new_value", "double precision"),
    ("cause", "text"),
)
# Raw history whose rows, loaded late, move past milestones: (schema, table, event time).
HISTORY_TABLES = (
    ("salesforce", "lead_history", "created_date"),
    ("salesforce", "opportunity_history", "created_date"),
    ("hubspot", "contact_property_history", "timestamp"),
)
# Raw records a source deleted: (schema, table, deleted flag, the record's person link
# kind, or None and the days the record counts on).
DELETES = (
    ("salesforce", "lead", "is_deleted", "salesforce_lead", ()),
    ("salesforce", "contact", "is_deleted", "salesforce_contact", ()),
    ("hubspot", "contacts", "archived", "hubspot_contact", ()),
    ("salesforce", "opportunity", "is_deleted", None, ("created_date", "close_date")),
)
# dim_person's record columns by the link kind the identity rules and erasure use
PERSON_RECORDS = {
    "hubspot_contact": "hubspot_contact_id",
    "salesforce_lead": "salesforce_lead_id",
    "salesforce_contact": "salesforce_contact_id",
    "email_sha256": "email_hash",
}
_NUMERIC = {"integer", "bigint", "smallint", "hugeint", "decimal", "numeric", "double"}
_NUMERIC |= {"double precision", "real", "float"}
_CHUNK = 500
_REQUESTS = REQUESTS_TABLE.partition(".")[2]
_IDENTIFIERS = IDENTIFIERS_TABLE.partition(".")[2]


@dataclass(frozen=True)
class Place:
    """Where a set of tables is on the session: a schema, in a DuckDB catalog if given."""

    schema: str
    catalog: str | None = None

    def __call__(self, table: str) -> str:
        name = f"{quote(self.schema)}.{quote(table)}"
        return f"{quote(self.catalog)}.{name}" if self.catalog else name

    def columns(self, session: Session, table: str) -> dict[str, str]:
        """Column → lower-case data type of `table` here; empty when there is no table."""
        sql = (
            "select column_name, lower(data_type) from information_schema.columns "
            "where table_schema = ? and table_name = ?"
        )
        params = [self.schema, table]
        if self.catalog:
            sql += " and table_catalog = ?"
            params.append(self.catalog)
        return dict(session.rows(sql + " order by ordinal_position", params))


@dataclass(frozen=True)
class Restatement:
    """One KPI value of a past period that a publication changed."""

    mart: str
    grain: str
    period_start: date
    kpi: str
    old_value: float | None
    new_value: float | None
    cause: str


@dataclass(frozen=True)
class RestatedNight:
    """What a publication found moved: its rows, or why it could not compare (`error`,
    then no rows: unknown, not none)."""

    rows: tuple[Restatement, ...]
    error: str | None = None


@dataclass(frozen=True)
class Previous:
    """The publication in place: its run, when, and where its tables are."""

    run_id: str
    published_at: datetime
    marts: Place


def cause_counts(rows: Iterable[Restatement]) -> dict[str, int]:
    """How many rows name each cause (a row naming two counts for both)."""
    return dict(Counter(c for row in rows for c in row.cause.split(", ")))


def restate(
    session: Session,
    new: Place,
    previous: Previous | None,
    working: str | None,
    run_id: str,
    published_at: datetime,
    unchanged: Iterable[str] = (),
) -> RestatedNight | None:
    """Write `mart_restatements` into `new` (the publication being built): the rows of the
    previous publication's ledger and of the working warehouse's copy, then the night's,
    which are returned. None, and no ledger, when there are no KPI marts and nothing to
    carry. `working` is the DuckDB catalog of the working warehouse (None: this one);
    `unchanged` the tables the publication kept from the previous one (same content
    hash): what only they decide is not compared again."""
    backup = Place(LEDGER_SCHEMA, working)
    sources = [p for p in (previous.marts if previous else None, backup) if p is not None]
    carried = [p for p in sources if p.columns(session, LEDGER)]
    if not carried and not any(new.columns(session, t) for t in (KPIS_DAILY, FUNNEL)):
        return None
    night: tuple[Restatement, ...] = ()
    error = None
    # a retried step finds its own publication in place: nothing moved since
    if previous is not None and previous.run_id != run_id:
        try:
            with _savepoint(session):
                night = tuple(_attributed(session, new, previous, working, set(unchanged)))
        except Exception as failed:  # noqa: BLE001 - any failure to compare
            # A report on the night, not a gate: marts that passed their checks are
            # published, and the night says its restatements are unknown.
            error = f"{type(failed).__name__}: {failed}"[:300]
    _write_ledger(session, new, carried, night, run_id, published_at, previous)
    return RestatedNight(night, error)


@contextmanager
def _savepoint(session: Session) -> Iterator[None]:
    """On PostgreSQL, a failed comparison rolls back to here and leaves the publication's
    transaction usable; DuckDB needs nothing."""
    if session.engine == DUCKDB:
        yield
        return
    session.execute("savepoint restatements")
    try:
        yield
    except Exception:
        session.execute("rollback to savepoint restatements")
        raise
    session.execute("release savepoint restatements")


def keep_ledger(session: Session, published: Place) -> None:
    """After the swap, on the working warehouse: copy into its ledger the published rows
    of runs it does not hold yet (tonight's, or a night that crashed before this step)."""
    if not published.columns(session, LEDGER):
        return
    if not session.rows(f"select count(*) from {published(LEDGER)}")[0][0]:
        return  # no night has restated anything yet: the working warehouse stays as it is
    backup = Place(LEDGER_SCHEMA)
    session.execute(f"create schema if not exists {quote(LEDGER_SCHEMA)}")
    session.execute(f"create table if not exists {backup(LEDGER)} ({_definition(session)})")
    _carry(session, published, backup)


def _definition(session: Session) -> str:
    text = "varchar" if session.engine == DUCKDB else "text"
    return ", ".join(f"{c} {text if t == 'text' else t}" for c, t in LEDGER_COLUMNS)


def _carry(session: Session, source: Place, target: Place) -> None:
    """The ledger rows of `source` whose runs `target` does not hold, into `target`."""
    columns = ", ".join(c for c, _ in LEDGER_COLUMNS)
    session.execute(
        f"insert into {target(LEDGER)} ({columns}) select {columns} from {source(LEDGER)} "
        f"where run_id not in (select run_id from {target(LEDGER)})"
    )


def _write_ledger(session, new, carried, night, run_id, published_at, previous) -> None:
    session.execute(f"create table {new(LEDGER)} ({_definition(session)})")
    # the publication's ledger first; the working copy adds runs it lacks (a lost file)
    for place in carried:
        _carry(session, place, new)
    values = [
        (run_id, published_at, previous.run_id, r.mart, r.grain, r.period_start, r.kpi)
        + (r.old_value, r.new_value, r.cause)
        for r in night
    ]
    row = "(" + ", ".join("?" for _ in LEDGER_COLUMNS) + ")"
    for i in range(0, len(values), _CHUNK):
        chunk = values[i : i + _CHUNK]
        session.execute(
            f"insert into {new(LEDGER)} values {', '.join(row for _ in chunk)}",
            [value for record in chunk for value in record],
        )


# -- what moved ----------------------------------------------------------------------------
def _numeric(columns: dict[str, str]) -> set[str]:
    return {c for c, t in columns.items() if t.split("(")[0].strip() in _NUMERIC}


def _additive(kpi: str) -> bool:
    """A count or amount: no row means zero. A rate has no value without its base."""
    return not kpi.endswith("_rate")


def _cutoff(session: Session, new: Place, old: Place, previous: Previous) -> date:
    """The first day not yet past when the previous publication was made (or now)."""
    days = [previous.published_at.date()]
    for place in (new, old):
        if place.columns(session, KPIS_DAILY):
            latest = session.rows(f"select max(kpi_date) from {place(KPIS_DAILY)}")[0][0]
            if latest is not None:
                days.append(latest)
    return min(days)


def changed_values(session: Session, new: Place, old: Place, cutoff: date) -> list[tuple]:
    """(mart, grain, period start, kpi, old, new) of every KPI of a period before `cutoff`
    (month: before its month) that `old` published and `new` changed: each numeric column
    of mart_kpis_daily by day and, less the rates, summed by month; fct_funnel's people
    reaching each stage by month."""
    old_kpis, new_kpis = old.columns(session, KPIS_DAILY), new.columns(session, KPIS_DAILY)
    if not old_kpis or not new_kpis:
        return []
    daily = sorted(_numeric(old_kpis) & _numeric(new_kpis))
    monthly = [c for c in daily if _additive(c)]
    old_funnel, new_funnel = old.columns(session, FUNNEL), new.columns(session, FUNNEL)
    shared = set(old_funnel) & set(new_funnel)
    stages = sorted(c for c in shared if c.startswith("reached_") and c.endswith("_at"))
    day, month = _date(cutoff), _date(cutoff.replace(day=1))

    def values(place: Place) -> str:
        parts = [
            f"select '{KPIS_DAILY}' as mart, '{DAY}' as grain, s.period_start, "
            f"'{c}' as kpi, cast(m.{quote(c)} as double precision) as value "
            f"from spine_days s left join {place(KPIS_DAILY)} m on m.kpi_date = s.period_start"
            for c in daily
        ]
        if monthly:
            sums = ", ".join(f"sum({quote(c)}) as {quote(c)}" for c in monthly)
            parts += [
                f"select '{KPIS_DAILY}', '{MONTH}', s.period_start, '{c}', "
                f"cast(m.{quote(c)} as double precision) from spine_months s left join "
                f"(select kpi_month, {sums} from {place(KPIS_DAILY)} group by kpi_month) m "
                "on m.kpi_month = s.period_start"
                for c in monthly
            ]
        parts += [
            f"select '{FUNNEL}', '{MONTH}', s.period_start, '{c[: -len('_at')]}', "
            "cast(f.n as double precision) from spine_months s left join "
            f"(select cast({_month(quote(c))} as date) as period_start, count(*) as n "
            f"from {place(FUNNEL)} where {quote(c)} is not null group by 1) f "
            "on f.period_start = s.period_start"
            for c in stages
        ]
        return "\n union all ".join(parts)

    rows = session.rows(
        f"with spine_days as (select kpi_date as period_start from {old(KPIS_DAILY)} "
        f"where kpi_date < {day}), "
        f"spine_months as (select distinct kpi_month as period_start from {old(KPIS_DAILY)} "
        f"where kpi_month < {month}), "
        f"old_values as ({values(old)}), new_values as ({values(new)}) "
        "select o.mart, o.grain, o.period_start, o.kpi, o.value, n.value "
        "from old_values o join new_values n on o.mart = n.mart and o.grain = n.grain "
        "and o.period_start = n.period_start and o.kpi = n.kpi "
        "where coalesce(o.value, 0) <> coalesce(n.value, 0) "
        "or (o.value is null) <> (n.value is null) "
        "order by 1, 2, 3, 4"
    )
    out = []
    for mart, grain, start, kpi, before, after in rows:
        if _additive(kpi):
            before, after = before or 0.0, after or 0.0
        elif before is None or after is None:
            out.append((mart, grain, start, kpi, before, after))
            continue
        if abs(after - before) > TOLERANCE * max(1.0, abs(before), abs(after)):
            out.append((mart, grain, start, kpi, before, after))
    return out


def _date(day: date) -> str:
    return f"cast({literal(day.isoformat())} as date)"


def _month(expression: str) -> str:
    return f"date_trunc('month', {expression})"


# -- why -----------------------------------------------------------------------------------
def _attributed(
    session: Session, new: Place, previous: Previous, working: str | None, unchanged: set[str]
) -> list[Restatement]:
    old = previous.marts
    if {KPIS_DAILY, FUNNEL} <= unchanged:
        return []  # the values compared are made from these two tables alone
    changes = changed_values(session, new, old, _cutoff(session, new, old, previous))
    if not changes:
        return []
    evidence = _evidence(session, new, previous, working, unchanged)
    rows = []
    for mart, grain, start, kpi, before, after in changes:
        causes = [c for c in CAUSES if _touches(evidence.get(c, set()), grain, start)]
        cause = ", ".join(causes) or UNATTRIBUTED
        rows.append(Restatement(mart, grain, start, kpi, before, after, cause))
    return rows


def _touches(days: set, grain: str, start: date) -> bool:
    """Whether evidence on `days` (None: every period) falls in the period."""
    if None in days:
        return True
    if grain == DAY:
        return start in days
    return any((day.year, day.month) == (start.year, start.month) for day in days)


def _evidence(
    session: Session, new: Place, previous: Previous, working: str | None, unchanged: set[str]
) -> dict[str, set]:
    """Cause → the days it touched; a cause holding None touched every period. A table
    in `unchanged` is read on one side only: the other holds the same rows."""
    raw = _Raw(session, working, previous.published_at)
    old = previous.marts
    out: dict[str, set] = {}
    out[LATE_HISTORY] = {d for s, t, c in HISTORY_TABLES for d in raw.loaded_days(s, t, c)}
    moved: list[tuple] = []
    if not {"fct_identity_links", "dim_person"} <= unchanged:  # else no record moved
        moved = session.rows(
            f"select distinct o.person_id, n.person_id from ({_record_persons(old)}) o "
            f"join ({_record_persons(new)}) n on o.kind = n.kind and o.record_id = n.record_id "
            "where o.person_id <> n.person_id"
        )
    # an erasure can split or merge its person (a scrubbed address links otherwise): that
    # is the erasure's doing, not the identity rules'
    erased = raw.erased_persons(old, new)
    regrouped = {person for pair in moved for person in pair} - erased
    funnels = (new,) if FUNNEL in unchanged else (old, new)
    out[IDENTITY] = _person_days(session, funnels, regrouped)
    out[ERASURE] = _person_days(session, funnels, erased)
    if "dim_lead_contract" not in unchanged and _differs(session, old, new, "dim_lead_contract"):
        out[CONTRACT_CHANGE] = {None}
    deleted_people, deleted_days = raw.deletes(old)
    out[SOURCE_DELETE] = deleted_days | _person_days(session, (old,), deleted_people)
    return {cause: days for cause, days in out.items() if days}


def _record_persons(place: Place) -> str:
    """(kind, record_id, person_id) of every source record a publication places, with
    repeats (its readers take sets: deduplicating millions of rows is wasted)."""
    parts = [
        f"select record_type_{side} as kind, record_id_{side} as record_id, person_id "
        f"from {place('fct_identity_links')}"
        for side in ("a", "b")
    ]
    parts += [
        f"select '{kind}', {column}, person_id from {place('dim_person')} "
        f"where {column} is not null"
        for kind, column in PERSON_RECORDS.items()
        if kind != "email_sha256"
    ]
    return " union all ".join(parts)


def _person_days(session: Session, places: Sequence[Place], persons: set[str]) -> set:
    """The days of every funnel milestone of `persons` in any of `places`: one query per
    place, the people as one list parameter and the days made distinct by the database
    (a night that regroups everyone names every person)."""
    days: set = set()
    if not persons:
        return days
    ids = sorted(persons)
    for place in places:
        stamps = [c for c in place.columns(session, FUNNEL) if c.endswith("_at")]
        if not stamps:
            continue
        found = session.rows(
            f"select distinct cast(stamp as date) from (select unnest(array["
            f"{', '.join(quote(c) for c in stamps)}]) as stamp from {place(FUNNEL)} "
            "where person_id in (select unnest(?))) s where stamp is not null",
            [ids],
        )
        days |= {day for (day,) in found}
    return days


def _differs(session: Session, old: Place, new: Place, table: str) -> bool:
    """Whether `table` holds other rows (or columns) in `new` than in `old`."""
    before, after = old.columns(session, table), new.columns(session, table)
    if before != after:
        return bool(before or after)
    columns = ", ".join(quote(c) for c in after)
    found = (
        session.rows(
            f"select count(*) from (select {columns} from {new(table)} except "
            f"select {columns} from {old(table)}) a"
        )[0][0]
        + session.rows(
            f"select count(*) from (select {columns} from {old(table)} except "
            f"select {columns} from {new(table)}) b"
        )[0][0]
    )
    return found > 0


@dataclass(frozen=True)
class _Raw:
    """The working warehouse's raw tables, as far as the night's evidence goes."""

    session: Session
    catalog: str | None
    since: datetime  # the previous publication (naive UTC)

    def place(self, schema: str) -> Place:
        return Place(schema, self.catalog)

    def _loaded(self) -> str:
        """Loaded since: a dlt load id is the load's start in Unix seconds."""
        epoch = self.since.replace(tzinfo=UTC).timestamp()
        return f"cast(_dlt_load_id as double precision) > {epoch!r}"

    def _days(self, schema: str, table: str, column: str, data_type: str, where: str) -> set:
        day = (
            f"cast({quote(column)} at time zone 'UTC' as date)"
            if "time zone" in data_type
            else f"cast({quote(column)} as date)"
        )
        return {
            found
            for (found,) in self.session.rows(
                f"select distinct {day} from {self.place(schema)(table)} where {where}"
            )
            if found is not None
        }

    def loaded_days(self, schema: str, table: str, column: str) -> set[date]:
        """The days of `column` of rows loaded since the previous publication."""
        columns = self.place(schema).columns(self.session, table)
        if column not in columns or "_dlt_load_id" not in columns:
            return set()
        return self._days(schema, table, column, columns[column], self._loaded())

    def deletes(self, old: Place) -> tuple[set[str], set[date]]:
        """The people (in `old`) of records deleted since, and days of deleted records."""
        people: set[str] = set()
        days: set[date] = set()
        for schema, table, flag, kind, day_columns in DELETES:
            columns = self.place(schema).columns(self.session, table)
            if flag not in columns or "_dlt_load_id" not in columns:
                continue
            where = f"{quote(flag)} and {self._loaded()}"
            if kind is not None:
                people |= {
                    person
                    for (person,) in self.session.rows(
                        f"select person_id from ({_record_persons(old)}) r "
                        f"where kind = {literal(kind)} and record_id in "
                        f"(select id from {self.place(schema)(table)} where {where})"
                    )
                }
            for column in (c for c in day_columns if c in columns):
                days |= self._days(schema, table, column, columns[column], where)
        return people, days

    def erased_persons(self, old: Place, new: Place) -> set[str]:
        """The people (in either publication) of erasure requests recorded since."""
        privacy = self.place(PRIVACY_SCHEMA)
        if not privacy.columns(self.session, _IDENTIFIERS):
            return set()
        since = literal(self.since.isoformat(sep=" "))
        erased = (
            f"select i.kind, i.value from {privacy(_IDENTIFIERS)} i "
            f"join {privacy(_REQUESTS)} r on r.request_id = i.request_id "
            f"where r.requested_at > cast({since} as timestamp)"
        )
        people: set[str] = set()
        for place in (old, new):
            for kind, column in PERSON_RECORDS.items():
                people |= {
                    person
                    for (person,) in self.session.rows(
                        f"select p.person_id from {place('dim_person')} p join ({erased}) e "
                        f"on e.kind = {literal(kind)} and e.value = p.{column}"
                    )
                }
        return people
