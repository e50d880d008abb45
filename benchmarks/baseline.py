"""The baseline: the core marts computed by one hand-written DuckDB SQL script, no dbt.

`baseline.sql` computes `dim_person`, `fct_lead_events`, `fct_funnel`, `fct_sla` and
`mart_kpis_daily` into schema `baseline` from the raw schemas, on a copy of the warehouse
a nightly run built; `compare` checks them against the dbt marts of the same file: row
count, a hash over all rows of the shared columns (floats rounded to 9 digits), a hash
and the type per column. Why a hand-written plan, and what is left out of the
comparison on purpose: benchmarks/README.md, "The baseline".
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from leadbridge.paths import DBT_PROJECT_DIR

CORE_MARTS = ("dim_person", "fct_lead_events", "fct_funnel", "fct_sla", "mart_kpis_daily")
SCHEMA = "baseline"
SQL_FILE = Path(__file__).with_name("baseline.sql")
# Columns of the dbt marts the baseline deliberately does not compute (see above).
NOT_COMPUTED = {"build_fingerprint", "built_at", "email_hash"}
_FLOAT_TYPES = {"DOUBLE", "FLOAT", "REAL"}


def run_baseline(warehouse: Path, as_of: str, sql_file: Path = SQL_FILE) -> float:
    """Execute the script on `warehouse` (a copy: it writes schema `baseline`); seconds.

    `as_of` is the night the dbt marts were built for (`--vars as_of`); the timing
    covers the script and the checkpoint that makes its tables durable, as dbt's
    materialisations are.
    """
    import duckdb

    repo = DBT_PROJECT_DIR.parent
    script = sql_file.read_text().replace("{repo}", str(repo))
    started = time.perf_counter()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute("set variable as_of = ?", [as_of])
        con.execute(script)
        con.execute("checkpoint")
    return time.perf_counter() - started


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def compare(warehouse: Path) -> dict[str, Any]:
    """Per core mart: rows, whole-row hash and per-column hash and type, dbt vs baseline."""
    import duckdb

    report: dict[str, Any] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for mart in CORE_MARTS:
            columns = {
                schema: dict(
                    con.execute(
                        "select column_name, data_type from information_schema.columns "
                        "where table_schema = ? and table_name = ? order by ordinal_position",
                        [schema, mart],
                    ).fetchall()
                )
                for schema in ("marts", SCHEMA)
            }
            shared = [c for c in columns["marts"] if c in columns[SCHEMA]]

            def expr(column: str, dtype: str) -> str:
                q = _quote(column)
                return f"round({q}, 9)" if dtype in _FLOAT_TYPES else q

            exprs = [expr(c, columns["marts"][c]) for c in shared]
            hashes = ", ".join(f"coalesce(sum(hash({e})), 0)" for e in exprs)
            row_hash = f"coalesce(sum(hash({', '.join(exprs)})), 0)"
            results = {}
            for schema in ("marts", SCHEMA):
                row = con.execute(
                    f"select count(*), {row_hash}, {hashes} from {schema}.{_quote(mart)}"
                ).fetchall()[0]
                results[schema] = row
            dbt_row, base_row = results["marts"], results[SCHEMA]
            typed_alike = {c for c in shared if columns["marts"][c] == columns[SCHEMA][c]}
            matching = [
                c
                for i, c in enumerate(shared)
                if c in typed_alike and dbt_row[2 + i] == base_row[2 + i]
            ]
            only_in_dbt = [c for c in columns["marts"] if c not in columns[SCHEMA]]
            report[mart] = {
                "rows_dbt": dbt_row[0],
                "rows_baseline": base_row[0],
                "columns_compared": len(shared),
                "columns_matching": len(matching),
                "columns_differing": [c for c in shared if c not in matching],
                "columns_type_differing": [c for c in shared if c not in typed_alike],
                "columns_only_in_dbt": only_in_dbt,
                # a column the baseline should have computed but did not is a mismatch
                "columns_missing": [c for c in only_in_dbt if c not in NOT_COMPUTED],
                "columns_only_in_baseline": [
                    c for c in columns[SCHEMA] if c not in columns["marts"]
                ],
                "rows_hash_equal": dbt_row[1] == base_row[1],
                "match": dbt_row[0] == base_row[0]
                and dbt_row[1] == base_row[1]
                and len(matching) == len(shared),
            }
    return report
