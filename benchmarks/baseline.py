"""The baseline: the core marts computed by one plain DuckDB SQL script, no dbt.

`benchmarks/baseline.sql` computes `dim_person`, `fct_lead_events`, `fct_funnel`,
`fct_sla` and `mart_kpis_daily` (and every intermediate result they need) from the raw
tables into schema `baseline`, reading the lead contract straight from the seed CSVs
with `read_csv`. It is run with DuckDB's Python client on a copy of the warehouse the
nightly run built, then compared with the dbt marts in the same file.

How the script is made (read this before quoting the ratio). The script is *not* an
independent hand-written re-implementation: it is the dbt project's own compiled SQL
for exactly the models these five marts depend on, flattened by `write_baseline_sql`
into one script in dependency order (staging as views, everything else as tables, as
dbt does), with every `ref()` resolved to schema `baseline`, `fct_lead_events` in its
full-refresh form and the night (`as_of`) a DuckDB variable. What the yardstick
therefore measures is the same SQL without dbt around it: no dbt process start and
parse, no seeds loaded through agate, no ~270 tests, no model contracts, no per-model
round trips and no incremental bookkeeping. It does not measure what a smarter query
plan could do; a leaner rewrite of the rules by hand is the natural next step.
Because the SQL is the same, the comparison is a check of the harness (same raw data,
same night, same contract) more than of the rules.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from orchestration.paths import DBT_EXECUTABLE, DBT_PROJECT_DIR

CORE_MARTS = ("dim_person", "fct_lead_events", "fct_funnel", "fct_sla", "mart_kpis_daily")
SCHEMA = "baseline"
SQL_FILE = Path(__file__).with_name("baseline.sql")
AS_OF_VARIABLE = "getvariable('as_of')"
_FLOAT_TYPES = {"DOUBLE", "FLOAT", "REAL"}


def _compile(warehouse: Path, as_of: str, target_dir: Path) -> dict[str, Any]:
    """`dbt compile --full-refresh` of the marts and their ancestors; the manifest."""
    import os

    selection = " ".join(f"+{mart}" for mart in CORE_MARTS)
    env = {**os.environ, "LEADBRIDGE_WAREHOUSE": str(warehouse)}
    subprocess.run(
        [
            str(DBT_EXECUTABLE),
            "--no-use-colors",
            "--quiet",
            "compile",
            "--full-refresh",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target_dir),
            "--select",
            selection,
            "--vars",
            json.dumps({"as_of": as_of}),
        ],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    return json.loads((target_dir / "manifest.json").read_text())


def _seed_types(warehouse: Path) -> dict[str, list[tuple[str, str]]]:
    """Column names and types of the contract seeds as dbt loaded them."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'lead_contract' order by table_name, ordinal_position"
        ).fetchall()
    types: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in rows:
        types.setdefault(table, []).append((column, dtype))
    return types


def write_baseline_sql(warehouse: Path, as_of: str, work_dir: Path, out: Path = SQL_FILE) -> Path:
    """Flatten the compiled SQL of the core marts' lineage into one DuckDB script."""
    manifest = _compile(warehouse, as_of, work_dir / "baseline_target")
    nodes = manifest["nodes"]
    wanted = {
        uid
        for uid, node in nodes.items()
        if node["resource_type"] == "model" and node["name"] in CORE_MARTS
    }
    # every model and seed upstream of the marts
    pending = list(wanted)
    while pending:
        for parent in nodes[pending.pop()]["depends_on"].get("nodes", []):
            if (
                parent in nodes
                and parent not in wanted
                and nodes[parent]["resource_type"] in ("model", "seed")
            ):
                wanted.add(parent)
                pending.append(parent)
    order: list[str] = []
    done: set[str] = set()

    def visit(uid: str) -> None:
        if uid in done:
            return
        done.add(uid)
        for parent in sorted(nodes[uid]["depends_on"].get("nodes", [])):
            if parent in wanted:
                visit(parent)
        order.append(uid)

    for uid in sorted(wanted):
        visit(uid)

    relations = {nodes[uid]["relation_name"]: f"{SCHEMA}.{nodes[uid]['name']}" for uid in wanted}
    # raw tables without the catalog (the warehouse file's name)
    relations |= {
        source["relation_name"]: f'"{source["schema"]}"."{source["identifier"]}"'
        for source in manifest["sources"].values()
    }
    pattern = re.compile("|".join(re.escape(r) for r in sorted(relations, key=len, reverse=True)))
    seed_types = _seed_types(warehouse)
    literal = f"'{as_of}'"
    parts = [
        "-- Leadbridge benchmark baseline: the core marts in one plain DuckDB script.",
        "-- GENERATED by benchmarks/baseline.py at every loaded scale of `python -m benchmarks`:",
        "-- the dbt models' compiled SQL in dependency order, refs resolved to schema",
        "-- `baseline`, the contract read from the seed CSVs. See the module docstring.",
        "-- Run with: SET VARIABLE as_of = '2026-11-04 01:59:59'; then this script.",
        f"create schema if not exists {SCHEMA};",
        "",
    ]
    for uid in order:
        node = nodes[uid]
        name = node["name"]
        if node["resource_type"] == "seed":
            csv = (DBT_PROJECT_DIR / node["original_file_path"]).resolve()
            relative = csv.relative_to(DBT_PROJECT_DIR.parent)
            columns = ",\n    ".join(
                f"cast(nullif({c}, '') as {t}) as {c}" for c, t in seed_types[name]
            )
            parts += [
                f"-- lead contract: {relative}",
                f"create or replace table {SCHEMA}.{name} as\nselect\n    {columns}\n"
                f"from read_csv('{{repo}}/{relative}', header = true, all_varchar = true);",
                "",
            ]
            continue
        code = pattern.sub(lambda m: relations[m.group(0)], node["compiled_code"]).strip()
        code = code.replace(literal, AS_OF_VARIABLE).rstrip(";")
        kind = "view" if node["config"]["materialized"] == "view" else "table"
        parts += [
            f"-- {node['original_file_path']}",
            f"create or replace {kind} {SCHEMA}.{name} as\n{code}\n;",
            "",
        ]
    out.write_text("\n".join(parts))
    return out


def run_baseline(warehouse: Path, as_of: str, sql_file: Path = SQL_FILE) -> float:
    """Execute the script on `warehouse` (a copy: it writes schema `baseline`); seconds."""
    import duckdb

    repo = DBT_PROJECT_DIR.parent
    script = sql_file.read_text().replace("{repo}", str(repo))
    started = time.perf_counter()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"set variable as_of = '{as_of}'")
        con.execute(script)
        con.execute("checkpoint")
    return time.perf_counter() - started


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def compare(warehouse: Path) -> dict[str, Any]:
    """Per core mart: rows, whole-row hash and per-column hash of dbt vs baseline."""
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
            # the build fingerprint names the dbt build (contract + identity), not data
            shared = [c for c in shared if c != "build_fingerprint"]

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
            matching = [c for i, c in enumerate(shared) if dbt_row[2 + i] == base_row[2 + i]]
            report[mart] = {
                "rows_dbt": dbt_row[0],
                "rows_baseline": base_row[0],
                "columns_compared": len(shared),
                "columns_matching": len(matching),
                "columns_differing": [c for c in shared if c not in matching],
                "columns_only_in_dbt": [c for c in columns["marts"] if c not in columns[SCHEMA]],
                "rows_hash_equal": dbt_row[1] == base_row[1],
                "match": dbt_row[0] == base_row[0] and dbt_row[1] == base_row[1],
            }
    return report
