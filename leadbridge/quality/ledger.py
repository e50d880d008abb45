"""The ledger of a `changed_rows` suite: which rows passed its last validation.

A table `quality.gx__<suite>` holds one 64-bit digest of the checked columns per row that
passed; rows whose digest is beyond it (`except all`) are new or changed, and are
validated with every row sharing their unique value. A validation that passes rewrites
the ledger in its own transaction; `quality.gx_ledgers` records the suite and contract
it was written under, and a ledger written under others is ignored. `suite_inputs` is the
fingerprint under which a raw suite's earlier pass still stands.
"""

from __future__ import annotations

from pathlib import Path

from leadbridge.content import row_hash
from leadbridge.engine import Engine, Session, as_engine, quote
from leadbridge.inputs import files_digest, tables_digest, tables_read_by
from leadbridge.quality.suites import CONTRACT_SEEDS, STAGE_MAPPINGS, STAGES, Suite

LEDGER_SCHEMA = "quality"
LEDGERS = f"{LEDGER_SCHEMA}.gx_ledgers"


def _row_digest(engine: str, columns: list[str]) -> str:
    """SQL for a 64-bit digest of a row's `columns`, NULLs included."""
    return row_hash(engine, [quote(c) for c in columns])


def _ledger_name(suite: Suite) -> str:
    """The ledger's table, in schema `LEDGER_SCHEMA`."""
    return f"gx__{suite.name}"


def _ledger_table(suite: Suite) -> str:
    return f"{LEDGER_SCHEMA}.{quote(_ledger_name(suite))}"


def ledger_inputs(suite: Suite) -> str:
    """What a suite's verdict on a row depends on besides the row: the suite file and the
    lead contract it reads its value sets from."""
    contract = files_digest([STAGE_MAPPINGS, STAGES], CONTRACT_SEEDS)
    return files_digest([suite.path], suite.path.parent) + contract


def changed_rows(suite: Suite, session: Session) -> str | None:
    """A query of the rows to validate when the suite's ledger stands (None: every row):
    rows beyond the ledger and the rows that share their unique value. Materialized in a
    temporary table, since the slices read it several times."""
    if not session.table_exists(LEDGER_SCHEMA, "gx_ledgers"):
        return None
    recorded = session.rows(f"select inputs from {LEDGERS} where suite = ?", [suite.name])
    if recorded != [(ledger_inputs(suite),)] or not session.table_exists(
        LEDGER_SCHEMA, _ledger_name(suite)
    ):
        return None
    selected = ", ".join(quote(c) for c in suite.columns or [])
    key = quote(suite.slice_column or "")
    digest = _row_digest(session.engine, suite.columns or [])
    # three scans of the table rather than one materialized copy of its columns: only the
    # new digests and their keys are held, so memory follows the change, not the table
    session.execute(
        f"""create temporary table changed_rows as
        with new_digests as materialized (
            select {digest} as row_digest from ({suite.query}) as source
            except all
            select row_digest from {_ledger_table(suite)}
        ),
        new_keys as (
            select {key} from ({suite.query}) as source
            where {digest} in (select row_digest from new_digests)
        )
        select {selected} from ({suite.query}) as source
        where {digest} in (select row_digest from new_digests)
            or {key} in (select {key} from new_keys)"""
    )
    return "select * from changed_rows"


def write_ledger(suite: Suite, session: Session) -> None:
    """Record every row of the suite's table as passed, replacing the ledger."""
    ledger = _ledger_table(suite)
    digest = _row_digest(session.engine, suite.columns or [])
    session.execute(f"create schema if not exists {LEDGER_SCHEMA}")
    session.execute(f"drop table if exists {ledger}")
    session.execute(
        f"create table {ledger} as select {digest} as row_digest from ({suite.query}) as source"
    )
    session.execute(f"create table if not exists {LEDGERS} (suite varchar, inputs varchar)")
    session.execute(f"delete from {LEDGERS} where suite = ?", [suite.name])
    session.execute(f"insert into {LEDGERS} values (?, ?)", [suite.name, ledger_inputs(suite)])


def suite_inputs(suite: Suite, warehouse: Engine | Path) -> str:
    """Fingerprint of what a raw suite's verdict depends on: the content of the tables its
    query reads, the suite and the lead contract it reads its value sets from. The
    clock-based bounds only widen as time passes, so a pass stands while this holds."""
    with as_engine(warehouse).reader() as reader:
        tables = tables_digest(reader, tables_read_by(suite.query))
    return ledger_inputs(suite) + tables
