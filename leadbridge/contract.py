"""The lead contract checked before a night uses it (`make contract-check`).

dbt loads rule values as text and casts them where a model reads them, so a typo
(`fifty`) becomes NULL and switches its rule off without an error. `validate` reads the
seed CSVs of the contract folder and returns each violation with file, line and reason:
rule values of the wrong type, unknown rules and stages, W weights not summing to 1,
business hours that end before they start, a year without holidays, targets of unknown
KPIs. The nightly `dbt_build` step refuses to build on any (orchestration/defs/transform.py).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from leadbridge.paths import DBT_PROJECT_DIR, REPO_ROOT

CONTRACT_DIR = DBT_PROJECT_DIR / "seeds" / "lead_contract"
RULES = "lead_contract__rules.csv"
STAGES = "lead_contract__stages.csv"
MAPPINGS = "lead_contract__stage_mappings.csv"
HOLIDAYS = "lead_contract__holidays.csv"
TARGETS = "lead_contract__targets.csv"
COLUMNS = {
    RULES: ("rule_key", "effective_from", "rule_value", "unit", "description"),
    STAGES: ("stage_code", "stage_order", "stage_name", "stage_kind", "meaning"),
    MAPPINGS: ("source_system", "source_field", "source_value", "canonical_stage"),
    HOLIDAYS: ("holiday_date", "holiday_name"),
    TARGETS: ("month_start", "kpi", "target_value"),
}
STAGE_KINDS = ("funnel", "reset")
# The KPIs mart_kpis_daily pivots from the targets (tests/unit/test_contract.py keeps
# this list equal to the model's and to the seeds YAML's accepted values).
KPIS = (
    "new_leads",
    "mqls",
    "sqls",
    "opportunities",
    "pipeline_amount",
    "won_revenue",
    "sla_compliance_rate",
    "mql_to_sql_rate",
)
RATE_KPIS = ("sla_compliance_rate", "mql_to_sql_rate")  # shares 0-1, not percentages
WEIGHT_TOLERANCE = 1e-9

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_WHOLE = re.compile(r"\d+")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _is_number(value: str) -> bool:
    # stricter than float(): no `nan`, `1e3` or `1_000`, which a reviewer would not read
    return _NUMBER.fullmatch(value.strip()) is not None


def _is_hour(value: str) -> bool:
    return _WHOLE.fullmatch(value.strip()) is not None and int(value) <= 24


def _is_list(value: str) -> bool:
    # the models match items as `|item|`: a space around an item never matches
    return all(item and item == item.strip() for item in value.split("|"))


def _is_zone(value: str) -> bool:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class ValueType:
    """What a rule's value must be, in words for the message, and the test of it."""

    expected: str
    accepts: Callable[[str], bool]


NUMBER = ValueType("a number", _is_number)
POSITIVE = ValueType("a number above 0", lambda v: _is_number(v) and float(v) > 0)
# cast to an integer by the models, where `8.5` would silently become 9
WHOLE = ValueType("a whole number", lambda v: _WHOLE.fullmatch(v.strip()) is not None)
HOUR = ValueType("a whole hour from 0 to 24", _is_hour)
SHARE = ValueType("a share from 0 to 1", lambda v: _is_number(v) and 0 <= float(v) <= 1)
# contract_flag compares lower(trim(value)) with 'true': anything else means false
BOOLEAN = ValueType("true or false", lambda v: v.strip().lower() in ("true", "false"))
LIST = ValueType("a |-separated list of items without spaces around them", _is_list)
WEEKDAYS = ValueType(
    "ISO weekdays 1-7 separated by |",
    lambda v: all(re.fullmatch("[1-7]", day) for day in v.split("|")),
)
TIMEZONE = ValueType("an IANA time zone such as America/New_York", _is_zone)

RULE_TYPES: dict[str, ValueType] = {
    "mql_score_threshold": NUMBER,
    "mql_fit_excluded_email_domains": LIST,
    "sal_on_first_sales_touch": BOOLEAN,
    "sql_on_lead_conversion": BOOLEAN,
    "sla_business_hours": POSITIVE,
    "sla_touch_task_subtypes": LIST,
    "sla_touch_counts_events": BOOLEAN,
    "sla_touch_counts_follow_ups": BOOLEAN,
    "calendar_timezone": TIMEZONE,
    "business_day_start_hour": HOUR,
    "business_day_end_hour": HOUR,
    "business_days": WEEKDAYS,
    "attribution_lookback_days": WHOLE,
    "attribution_w_first_weight": SHARE,
    "attribution_w_lead_weight": SHARE,
    "attribution_w_opportunity_weight": SHARE,
    "attribution_w_middle_weight": SHARE,
}
W_WEIGHTS = tuple(key for key in RULE_TYPES if key.startswith("attribution_w_"))
BUSINESS_HOURS = ("business_day_start_hour", "business_day_end_hour")


@dataclass(frozen=True)
class Violation:
    """One thing wrong in the contract: its file, CSV line (header = 1; None when the
    problem is something missing) and why."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.file} line {self.line}" if self.line else self.file
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class Row:
    """One CSV record and the line it is on."""

    line: int
    values: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.values.get(column) or ""


def read_seed(folder: Path, name: str, out: list[Violation]) -> list[Row]:
    """The rows of one seed; a missing file or column is a violation in `out`."""
    path = folder / name
    if not path.is_file():
        out.append(Violation(name, None, f"missing: the contract needs {path}"))
        return []
    rows = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            missing = [column for column in COLUMNS[name] if column not in header]
            if missing:
                out.append(Violation(name, 1, f"the header lacks column(s) {', '.join(missing)}"))
                return []
            for values in reader:
                if not values:
                    continue
                if len(values) != len(header):
                    reason = f"{len(values)} values where the header has {len(header)} columns"
                    out.append(Violation(name, reader.line_num, reason))
                    continue
                rows.append(Row(reader.line_num, dict(zip(header, values, strict=True))))
    except UnicodeDecodeError as error:
        out.append(Violation(name, None, f"not UTF-8 text ({error.reason})"))
    return rows


def _iso_date(value: str) -> date | None:
    if not _ISO_DATE.fullmatch(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def night_date(as_of: str | date | None) -> date:
    """The night's day: an `as_of` (a date, or an ISO timestamp as dbt's var), else today."""
    if as_of is None:
        return date.today()
    if isinstance(as_of, datetime):
        return as_of.date()
    if isinstance(as_of, date):
        return as_of
    return datetime.fromisoformat(as_of).date()


# -- rules --------------------------------------------------------------------------------
Versions = dict[str, list[tuple[date, Row]]]  # rule key → (effective_from, row), by date


def _in_force(versions: Versions, key: str, day: date) -> Row | None:
    current = None
    for effective, row in versions.get(key, []):
        if effective <= day:
            current = row
    return current


def check_rules(rows: Sequence[Row], night: date, out: list[Violation]) -> Versions:
    """Each rule's value, date and uniqueness; the rules' versions by key."""
    versions: Versions = {}
    first_line: dict[tuple[str, date], int] = {}
    keys = {row["rule_key"] for row in rows}
    for row in rows:
        key, value = row["rule_key"], row["rule_value"]
        if key not in RULE_TYPES:
            out.append(
                Violation(RULES, row.line, f"unknown rule {key!r}; known: {', '.join(RULE_TYPES)}")
            )
            continue
        expected = RULE_TYPES[key]
        if not expected.accepts(value):
            unit = f" ({row['unit']})" if row["unit"] else ""
            out.append(
                Violation(
                    RULES, row.line, f"rule {key}: {value!r} is not {expected.expected}{unit}"
                )
            )
        effective = _iso_date(row["effective_from"])
        if effective is None:
            out.append(
                Violation(
                    RULES,
                    row.line,
                    f"rule {key}: effective_from {row['effective_from']!r} is not a date "
                    "YYYY-MM-DD",
                )
            )
            continue
        if (key, effective) in first_line:
            out.append(
                Violation(
                    RULES,
                    row.line,
                    f"rule {key} has a second version effective from {effective} "
                    f"(the first is on line {first_line[key, effective]})",
                )
            )
            continue
        first_line[key, effective] = row.line
        versions.setdefault(key, []).append((effective, row))
    for key in RULE_TYPES:
        dated = sorted(versions.get(key, []), key=lambda version: version[0])
        versions[key] = dated
        if key not in keys:
            out.append(Violation(RULES, None, f"rule {key} is missing: the models read it"))
        elif dated and dated[0][0] > night:
            out.append(
                Violation(
                    RULES,
                    dated[0][1].line,
                    f"rule {key}: no version in force on {night} (the first is effective "
                    f"from {dated[0][0]})",
                )
            )
    _check_w_weights(versions, out)
    _check_business_hours(versions, out)
    return versions


def _changes(versions: Versions, keys: Iterable[str]) -> list[tuple[date, Row]]:
    """The first row of each date on which one of `keys` changes, by date."""
    found: dict[date, Row] = {}
    for key in keys:
        for effective, row in versions.get(key, []):
            if effective not in found or row.line < found[effective].line:
                found[effective] = row
    return sorted(found.items(), key=lambda change: change[0])


def _check_w_weights(versions: Versions, out: list[Violation]) -> None:
    for day, row in _changes(versions, W_WEIGHTS):
        in_force = {key: _in_force(versions, key, day) for key in W_WEIGHTS}
        missing = [key for key, found in in_force.items() if found is None]
        if missing:
            out.append(Violation(RULES, row.line, f"no {', '.join(missing)} in force from {day}"))
            continue
        values = {key: found["rule_value"] for key, found in in_force.items() if found}
        if not all(SHARE.accepts(value) for value in values.values()):
            continue  # reported as a wrong value already
        total = sum(float(value) for value in values.values())
        if abs(total - 1) > WEIGHT_TOLERANCE:
            parts = ", ".join(f"{key} {value}" for key, value in values.items())
            out.append(
                Violation(
                    RULES,
                    row.line,
                    f"the W-shaped weights in force from {day} sum to {total:g}, not 1: {parts}",
                )
            )


def _check_business_hours(versions: Versions, out: list[Violation]) -> None:
    for day, row in _changes(versions, BUSINESS_HOURS):
        start, end = (_in_force(versions, key, day) for key in BUSINESS_HOURS)
        if start is None or end is None:
            continue  # a missing rule is reported as such
        if not (HOUR.accepts(start["rule_value"]) and HOUR.accepts(end["rule_value"])):
            continue
        if int(start["rule_value"]) >= int(end["rule_value"]):
            out.append(
                Violation(
                    RULES,
                    row.line,
                    f"business hours in force from {day} start at {start['rule_value']} "
                    f"(line {start.line}) but end at {end['rule_value']} (line {end.line}): "
                    "business_day_start_hour must be before business_day_end_hour",
                )
            )


# -- stages, holidays, targets ------------------------------------------------------------
def check_stages(stages: Sequence[Row], mappings: Sequence[Row], out: list[Violation]) -> None:
    """Stage codes, orders and kinds; every mapping names a known stage."""
    codes: dict[str, int] = {}
    orders: dict[int, int] = {}
    for row in stages:
        code, order = row["stage_code"], row["stage_order"].strip()
        if not code:
            out.append(Violation(STAGES, row.line, "stage_code is empty"))
        elif code in codes:
            out.append(Violation(STAGES, row.line, f"stage {code!r} again (line {codes[code]})"))
        else:
            codes[code] = row.line
        if not re.fullmatch(r"[+-]?\d+", order):
            out.append(
                Violation(
                    STAGES, row.line, f"stage {code}: stage_order {order!r} is not an integer"
                )
            )
        elif int(order) in orders:
            out.append(
                Violation(
                    STAGES,
                    row.line,
                    f"stage {code}: stage_order {order} is taken (line {orders[int(order)]})",
                )
            )
        else:
            orders[int(order)] = row.line
        if row["stage_kind"] not in STAGE_KINDS:
            out.append(
                Violation(
                    STAGES,
                    row.line,
                    f"stage {code}: stage_kind {row['stage_kind']!r} is not one of "
                    f"{', '.join(STAGE_KINDS)}",
                )
            )
    for row in mappings:
        stage = row["canonical_stage"]
        if stage not in codes:
            out.append(
                Violation(
                    MAPPINGS,
                    row.line,
                    f"{row['source_system']} {row['source_field']} {row['source_value']!r} maps "
                    f"to {stage!r}, which is no stage_code of {STAGES} (known: "
                    f"{', '.join(codes)})",
                )
            )


def check_holidays(rows: Sequence[Row], years: Iterable[int], out: list[Violation]) -> None:
    """Holiday dates, and at least one holiday in each of `years`."""
    covered = set()
    for row in rows:
        day = _iso_date(row["holiday_date"])
        if day is None:
            out.append(
                Violation(
                    HOLIDAYS,
                    row.line,
                    f"holiday_date {row['holiday_date']!r} is not a date YYYY-MM-DD",
                )
            )
        else:
            covered.add(day.year)
    for year in sorted(set(years) - covered):
        out.append(
            Violation(
                HOLIDAYS,
                None,
                f"no holiday in {year}: add that year's holidays, or business hours count "
                "them as working days",
            )
        )


def check_targets(rows: Sequence[Row], out: list[Violation]) -> None:
    """Targets: a first-of-month date, a known KPI and a numeric value (rates 0-1)."""
    for row in rows:
        month, kpi, value = row["month_start"], row["kpi"], row["target_value"]
        day = _iso_date(month)
        if day is None or day.day != 1:
            out.append(
                Violation(
                    TARGETS, row.line, f"month_start {month!r} is not the first day of a month"
                )
            )
        if kpi not in KPIS:
            out.append(
                Violation(TARGETS, row.line, f"unknown kpi {kpi!r}; known: {', '.join(KPIS)}")
            )
        if not _is_number(value):
            out.append(
                Violation(TARGETS, row.line, f"{kpi}: target_value {value!r} is not a number")
            )
        elif kpi in RATE_KPIS and not SHARE.accepts(value):
            out.append(
                Violation(
                    TARGETS, row.line, f"{kpi}: target_value {value} is not a share from 0 to 1"
                )
            )


# -- the whole contract -------------------------------------------------------------------
def validate(
    folder: Path | None = None,
    as_of: str | date | None = None,
    years: Iterable[int] | None = None,
) -> list[Violation]:
    """Every violation of the contract in `folder` (default: the project's seeds) for a
    night as of `as_of` (default today). The holiday calendar must cover `years`, by
    default every year from the earliest rule version to the night's."""
    folder = CONTRACT_DIR if folder is None else Path(folder)
    night = night_date(as_of)
    out: list[Violation] = []
    versions = check_rules(read_seed(folder, RULES, out), night, out)
    check_stages(read_seed(folder, STAGES, out), read_seed(folder, MAPPINGS, out), out)
    if years is None:
        starts = [effective for dated in versions.values() for effective, _ in dated]
        years = range(min(starts, default=night).year, night.year + 1)
    check_holidays(read_seed(folder, HOLIDAYS, out), years, out)
    check_targets(read_seed(folder, TARGETS, out), out)
    return sorted(out, key=lambda v: (v.file, v.line or 0, v.reason))


def _shown(folder: Path) -> str:
    folder = folder.resolve()
    return str(folder.relative_to(REPO_ROOT)) if folder.is_relative_to(REPO_ROOT) else str(folder)


def failure_message(as_of: str | date | None = None, folder: Path | None = None) -> str | None:
    """Why a night as of `as_of` must not build on the contract, one line per violation;
    None when the contract is valid. The nightly `dbt_build` step raises it."""
    folder = CONTRACT_DIR if folder is None else Path(folder)
    violations = validate(folder, as_of)
    if not violations:
        return None
    lines = [
        f"the lead contract in {_shown(folder)} has {len(violations)} problem(s); the night "
        "builds once they are fixed there (`make contract-check` checks again):"
    ]
    return "\n".join(lines + [str(v) for v in violations])


def summary(folder: Path) -> str:
    """What a valid contract holds, in one line."""
    counts = {name: len(read_seed(folder, name, [])) for name in COLUMNS}
    return (
        f"lead contract OK: {counts[RULES]} rules, {counts[STAGES]} stages, "
        f"{counts[MAPPINGS]} stage mappings, {counts[HOLIDAYS]} holidays, "
        f"{counts[TARGETS]} targets ({_shown(folder)})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """`make contract-check`: 0 with a summary, 1 with the violations on stderr."""
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.contract", description="Validate the lead contract."
    )
    parser.add_argument("--contract", type=Path, default=CONTRACT_DIR, help="the seed folder")
    parser.add_argument("--as-of", help="the night (YYYY-MM-DD); default today")
    args = parser.parse_args(argv)
    message = failure_message(args.as_of, args.contract)
    if message:
        print(message, file=sys.stderr)
        return 1
    print(summary(args.contract))
    return 0


if __name__ == "__main__":
    sys.exit(main())
