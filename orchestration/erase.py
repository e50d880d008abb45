"""`make erase EMAIL=…` / `python -m orchestration.erase`: carry out one erasure request.

    python -m orchestration.erase --email jane.doe@example.com --reason "ticket 4711"
    python -m orchestration.erase --record salesforce_lead:00Q5g00000AbCdEAAV

Scrubs the raw tables under the run lock (leadbridge.erasure), rebuilds and publishes
with the `erasure_rebuild` job, then purges the replaced values from the warehouse's
storage. Exit code 0 only once the rebuild succeeded (docs/access-and-privacy.md).
"""

from __future__ import annotations

import argparse
import contextlib
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
    NoRecordMatched,
    email_hash,
    purge_replaced_values,
    scrub_person,
)
from leadbridge.paths import warehouse_path
from leadbridge.settings import Settings

REBUILD_JOB = "erasure_rebuild"


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


def rebuild(instance: Any = None) -> Any:
    """Run the `erasure_rebuild` job in process; its result."""
    import dagster as dg

    from orchestration.definitions import defs

    # The scrub changed the inputs anyway; `rebuild` says it outright: never skipped.
    night: dict[str, Any] = {"rebuild": True}
    as_of = Settings.from_env().as_of
    if as_of:
        night["as_of"] = as_of
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
    request_id, changed, who = scrub_person(engine, manifest, emails, records, reason, None)
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
    from orchestration.run_nightly import dagster_instance, unsupported_target

    args = _parser().parse_args(argv)
    if not args.email and not args.record:
        _parser().error("give --email or --record (or both)")
    if problem := unsupported_target():
        print(f"erasure refused: {problem}", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        instance = None if args.no_rebuild else stack.enter_context(dagster_instance())
        return _carry_out(args, instance)


def _carry_out(args: argparse.Namespace, instance: Any) -> int:
    """`main` once the arguments are read and the Dagster instance is open."""
    from orchestration.defs.resources import dbt_project

    engine = Engine.resolve(warehouse_path())
    started = time.monotonic()
    try:
        done = erase(
            engine,
            dbt_project().manifest_path,
            args.email,
            args.record,
            args.reason,
            instance=instance,
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
