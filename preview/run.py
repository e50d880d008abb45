"""`python -m preview --contract DIR [--from DATE] [--out DIR]`: validate the proposed
contract, build it in a scratch copy (preview.scratch) from DATE on and restating all
history, compare both with the working marts (preview.compare) and write the report
(preview.report). DATE defaults to the day of the night the working marts describe.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from leadbridge.contract import CONTRACT_DIR, night_date
from leadbridge.engine import Engine
from leadbridge.paths import warehouse_path
from preview import compare
from preview.proposal import ContractRefused, changed_rules, check, variants
from preview.report import PreviewReport, default_out
from preview.scratch import CURRENT, Log, scratch

TABLES = {
    "monthly": (compare.MONTHLY, ["month"]),
    "sla_by_owner": (compare.SLA_BY_OWNER, ["month", "owner"]),
    "funnel_by_source": (compare.FUNNEL_BY_SOURCE, ["source"]),
    "attribution": (compare.ATTRIBUTION, ["model", "campaign"]),
}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """`frame` as JSON-ready records: times as text to the minute, missing values None."""
    out = []
    for row in frame.astype(object).where(frame.notna(), None).to_dict("records"):
        out.append({key: _plain(value) for key, value in row.items()})
    return out


def _plain(value: Any) -> Any:
    # to the minute: the marts' times are whole minutes in practice, seconds only clutter
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _changes(frame: pd.DataFrame) -> dict[str, Any]:
    counts = {"people": len(frame)}
    for kind, label in compare.CHANGE_KINDS.items():
        before, after = frame[f"{kind}_before"], frame[f"{kind}_after"]
        differs = (before.isna() != after.isna()) | (before.notna() & (before != after))
        counts[label] = int(differs.sum())
    return {"counts": counts, "sample": records(frame.head(compare.SAMPLE_PEOPLE))}


def run_preview(
    contract: Path,
    start: date | None = None,
    as_of: str | None = None,
    warehouse: Path | None = None,
    log: Log = print,
) -> PreviewReport:
    """Preview `contract` against the working marts of `warehouse` (default: the
    configured one); raises ContractRefused when it does not validate."""
    began = time.monotonic()
    contract = Path(contract)
    check(contract, as_of)
    engine = Engine.resolve(warehouse_path(str(warehouse) if warehouse else None))
    with scratch(engine, log) as place:
        night = as_of or place.night()
        if night is None:
            raise ValueError("the working marts hold no hand-off to date them: pass --as-of")
        start = start or night_date(night)
        built = variants(contract, start, place.folder / "contracts")
        for variant in built:
            check(variant.folder, night)
        place.snapshot(CURRENT)
        for variant in built:
            log(f"building the proposed contract {variant.title}")
            place.build(variant.folder, night, log)
            place.snapshot(variant.name)
        names = [CURRENT] + [variant.name for variant in built]
        report = PreviewReport(
            proposed=str(contract),
            start=start.isoformat(),
            as_of=night,
            changed_rules=changed_rules(CONTRACT_DIR, contract),
            variants={CURRENT: "current contract", **{v.name: v.title for v in built}},
        )
        with place.engine.reader() as session:
            for name, (statement, keys) in TABLES.items():
                report.tables[name] = records(compare.side_by_side(session, statement, keys, names))
            for variant in built:
                report.changes[variant.name] = _changes(
                    compare.changed_people(session, variant.name)
                )
    report.seconds = time.monotonic() - began
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """`make preview`: 0 with the report's paths; 1 with the refusal on stderr."""
    parser = argparse.ArgumentParser(
        prog="python -m preview", description="Preview a proposed lead contract."
    )
    parser.add_argument("--contract", type=Path, required=True, help="the proposed seed folder")
    parser.add_argument(
        "--from",
        dest="start",
        type=date.fromisoformat,
        help="adopt from this day on (YYYY-MM-DD); default: the working marts' night",
    )
    parser.add_argument("--out", type=Path, default=None, help="the report folder")
    parser.add_argument("--as-of", help="the working marts' night, when fct_sla is empty")
    args = parser.parse_args(argv)
    try:
        report = run_preview(args.contract, args.start, args.as_of)
    except ContractRefused as refused:
        print(refused, file=sys.stderr)
        return 1
    for kind, path in report.write(args.out or default_out()).items():
        print(f"{kind}: {path}")
    return 0
