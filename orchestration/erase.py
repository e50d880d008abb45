"""`make erase EMAIL=…` / `python -m orchestration.erase`: carry out one erasure request.

    python -m orchestration.erase --email jane.doe@example.com --reason "ticket 4711"
    python -m orchestration.erase --record salesforce_lead:00Q5g00000AbCdEAAV

1. Under the warehouse's run lock (no nightly run writes meanwhile), in one transaction:
   widen the request to the whole person, record it in schema `privacy` (ids and address
   hashes only) and pseudonymize the person's personal data in every raw table
   (leadbridge.erasure; what is personal is declared in the dbt sources YAML).
2. Rebuild everything derived from the raw tables — dbt's staging, history and marts,
   its tests and the mart checks — and publish, with the `erasure_rebuild` job: the
   nightly job without ingestion, recorded in the Dagster instance like any run.
   Exit code 0 only when that run succeeded: until it has, the marts still hold the
   person's data, and the command says so.
3. On DuckDB, rewrite the warehouse file: an UPDATE, and the rebuild's dropped tables,
   leave the old values in the file's free blocks. On PostgreSQL, `VACUUM FULL` the
   scrubbed tables (dropped tables' files are deleted by the server).

From then on every nightly load pseudonymizes the person again in what it loaded, before
any check or model reads it (`reapply`), so the data does not come back with the
source's next change of their records.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadbridge.drop_files import DropFile, drop_folders, files_holding
from leadbridge.engine import Engine
from leadbridge.erasure import (
    ErasureError,
    Identifiers,
    NoRecordMatched,
    compact_duckdb,
    email_hash,
    erasure_plan,
    parse_record,
    record_request,
    resolve,
    scrub,
    unmatched,
)
from leadbridge.lock import hold_warehouse_lock
from leadbridge.paths import warehouse_path

REBUILD_JOB = "erasure_rebuild"
AS_OF_ENV = "LEADBRIDGE_AS_OF"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.erase",
        description="Erase one person's personal data from raw tables, history and marts.",
    )
    parser.add_argument("--email", action="append", default=[], help="an address of theirs")
    parser.add_argument(
        "--record",
        action="append",
        default=[],
        help="a source record of theirs: hubspot_contact:<id>, salesforce_lead:<id> or "
        "salesforce_contact:<id>",
    )
    parser.add_argument("--reason", help="kept with the request, e.g. a ticket number")
    parser.add_argument(
        "--no-rebuild",
        action="store_true",
        help="scrub the raw tables only; the marts keep the data until the next run",
    )
    return parser


@dataclass(frozen=True)
class Erasure:
    """What one erasure did."""

    request_id: str
    changed: dict[str, int]  # raw rows pseudonymized per table
    identifiers: int  # ids and address hashes of the person
    rebuild: Any = None  # the `erasure_rebuild` run's result; None with --no-rebuild
    drop_files: tuple[DropFile, ...] = ()  # drop files that still hold their addresses

    @property
    def complete(self) -> bool:
        """True once nothing derived from the raw tables keeps the person's data."""
        return self.rebuild is not None and self.rebuild.success


def erase_raw(
    engine: Engine,
    manifest: Any,
    emails: Sequence[str] = (),
    records: Sequence[str] = (),
    reason: str | None = None,
    log: Any = None,
) -> tuple[str, dict[str, int], int]:
    """Step 1 under the run lock, in one transaction: (request id, rows changed per
    table, identifiers of the person). `NoRecordMatched` when a requested address or
    record is in no raw table; nothing is written then."""
    request_id, changed, who = _erase_raw(engine, manifest, emails, records, reason, log)
    return request_id, changed, len(who.rows())


def _erase_raw(
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
    """Step 2, after the rebuild (which drops tables that held the data in clear): on
    DuckDB rewrite the file, on PostgreSQL `VACUUM FULL` the scrubbed raw tables."""
    with hold_warehouse_lock(engine, log=log):
        if engine.is_postgres:
            engine.vacuum_full(sorted(table for table, count in changed.items() if count))
        else:
            compact_duckdb(engine.file)


def rebuild(instance: Any = None) -> Any:
    """Run the `erasure_rebuild` job in process; its result."""
    import dagster as dg

    from orchestration.definitions import defs

    # The scrub changed the inputs anyway; `rebuild` says it outright: never skipped.
    night: dict[str, Any] = {"rebuild": True}
    if os.environ.get(AS_OF_ENV):
        night["as_of"] = os.environ[AS_OF_ENV]
    run_config: dict[str, Any] = {"ops": {"dbt_build": {"config": night}}}
    job = defs.resolve_job_def(REBUILD_JOB)
    if instance is not None:
        return job.execute_in_process(
            run_config=run_config, instance=instance, raise_on_error=False
        )
    with dg.DagsterInstance.get() as current:
        return job.execute_in_process(run_config=run_config, instance=current, raise_on_error=False)


def erase(
    engine: Engine,
    manifest: Any,
    emails: Sequence[str] = (),
    records: Sequence[str] = (),
    reason: str | None = None,
    instance: Any = None,
    rebuild_marts: bool = True,
    drop_dirs: Sequence[Path] | None = None,
) -> Erasure:
    """The whole request: scrub the raw tables, rebuild and publish, purge the old values;
    and find the files of the drop folders (default `drop_folders()`) that hold the
    person's addresses."""
    request_id, changed, who = _erase_raw(engine, manifest, emails, records, reason, None)
    folders = drop_folders() if drop_dirs is None else drop_dirs
    drops = tuple(files_holding(folders, who.email_hashes))
    result = rebuild(instance) if rebuild_marts else None
    purge_replaced_values(engine, changed)
    return Erasure(request_id, changed, len(who.rows()), result, drops)


def _print_drop_files(files: Sequence[DropFile], heading: str) -> None:
    if files:
        print(heading, file=sys.stderr)
        for drop in files:
            print(f"  {drop}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Carry out one request from the command line; the exit code: 3 when a requested
    address or record is in no raw table (a typo, or erased before), refused before
    anything is recorded or rebuilt. Drop files holding the address are listed either
    way: the erasure does not edit them."""
    # Dagster and dbt load when a request is carried out, not for `--help`
    from orchestration.defs.resources import dbt_project
    from orchestration.run_nightly import ensure_dagster_home

    args = _parser().parse_args(argv)
    if not args.email and not args.record:
        _parser().error("give --email or --record (or both)")
    engine = Engine.resolve(warehouse_path())
    started = time.monotonic()
    if not args.no_rebuild:
        ensure_dagster_home()
    try:
        done = erase(
            engine,
            dbt_project().manifest_path,
            args.email,
            args.record,
            args.reason,
            rebuild_marts=not args.no_rebuild,
        )
    except NoRecordMatched as error:
        print(f"erasure refused: {error}; nothing erased, nothing rebuilt", file=sys.stderr)
        hashes = {email_hash(e.strip()) for e in args.email if e.strip()}
        _print_drop_files(
            files_holding(drop_folders(), hashes),
            "these drop files hold the address, and no erasure request covers it when a "
            "night loads them: remove it there, or erase again after that night",
        )
        return 3
    except ErasureError as error:
        print(f"erasure refused: {error}", file=sys.stderr)
        return 2
    print(
        f"erasure {done.request_id}: {done.identifiers} identifiers of the person, "
        f"{sum(done.changed.values())} raw rows pseudonymized in {engine.location}"
    )
    for table, count in sorted(done.changed.items()):
        if count:
            print(f"  {table}: {count}")
    _print_drop_files(
        done.drop_files,
        "warning: these drop files still hold the person's address; the erasure does not "
        "edit them (a night that reads one again pseudonymizes it on load): remove it there",
    )
    seconds = time.monotonic() - started
    if done.rebuild is None:
        print("marts NOT rebuilt (--no-rebuild): they keep the data until the next run")
        return 0
    if not done.complete:
        print(
            f"rebuild run {done.rebuild.run_id} FAILED after {seconds:.0f} s: the marts and "
            "the published marts still hold the person's data until a run succeeds",
            file=sys.stderr,
        )
        return 1
    print(f"marts rebuilt and published by run {done.rebuild.run_id} ({seconds:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
