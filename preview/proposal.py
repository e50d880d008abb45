"""The two contracts a preview builds from one proposed contract folder.

Only `lead_contract__rules.csv` is effective-dated. "Restate" takes the proposal as it
is written. "From DATE" keeps every current rule version before DATE and starts each
changed rule's proposed version at DATE, so history keeps the old rule wherever the
models judge a rule at the event (MQL threshold, SLA hours). Stages, mappings, holidays,
targets and attribution models have no versions: both modes take the proposed files.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from leadbridge.contract import COLUMNS, CONTRACT_DIR, RULES, Violation, validate

RULE_COLUMNS = COLUMNS[RULES]


class ContractRefused(ValueError):
    """The proposed contract does not validate: the preview builds nothing."""


def refusal(folder: Path, violations: list[Violation]) -> str:
    """The validation's own lines, under a header saying the preview refused them."""
    header = (
        f"the proposed lead contract in {folder} has {len(violations)} problem(s); the "
        "preview runs once they are fixed there (`make contract-check CONTRACT=…` checks again):"
    )
    return "\n".join([header, *(str(v) for v in violations)])


def check(folder: Path, as_of: str | date | None) -> None:
    """Raise ContractRefused with every violation of the contract in `folder`."""
    violations = validate(folder, as_of)
    if violations:
        raise ContractRefused(refusal(folder, violations))


def _rules(folder: Path) -> list[dict[str, str]]:
    with (folder / RULES).open(newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if any(row.values())]


def _versions(rows: list[dict[str, str]], key: str) -> list[tuple[str, str]]:
    return sorted(
        (row["effective_from"], row["rule_value"]) for row in rows if row["rule_key"] == key
    )


def changed_rules(current: Path, proposed: Path) -> list[str]:
    """The rule keys whose versions (dates or values) the proposal changes, in file order."""
    old, new = _rules(current), _rules(proposed)
    keys = list(dict.fromkeys(row["rule_key"] for row in [*new, *old]))
    return [key for key in keys if _versions(old, key) != _versions(new, key)]


def rules_from(current: Path, proposed: Path, start: date) -> list[dict[str, str]]:
    """The rule rows of "from `start` on": unchanged rules as they are; a changed rule's
    current versions before `start`, its proposed version in force on `start` (dated
    `start`) and its proposed later versions."""
    old, new = _rules(current), _rules(proposed)
    changed = set(changed_rules(current, proposed))
    day = start.isoformat()
    rows = [row for row in old if row["rule_key"] not in changed]
    for key in dict.fromkeys(row["rule_key"] for row in new if row["rule_key"] in changed):
        rows += [r for r in old if r["rule_key"] == key and r["effective_from"] < day]
        versions = sorted(
            (r for r in new if r["rule_key"] == key), key=lambda r: r["effective_from"]
        )
        in_force = [r for r in versions if r["effective_from"] <= day]
        if in_force:
            rows.append({**in_force[-1], "effective_from": day})
        rows += [r for r in versions if r["effective_from"] > day]
    return rows


@dataclass(frozen=True)
class Variant:
    """One contract the preview builds: its name in the report and its seed folder."""

    name: str
    title: str
    folder: Path


def overlay(proposed: Path, target: Path) -> None:
    """Copy the proposal's seed files over the contract folder `target`."""
    for path in sorted(proposed.glob("*.csv")):
        shutil.copyfile(path, target / path.name)


def write_rules(rows: list[dict[str, str]], folder: Path) -> None:
    """Write `rows` as the rules seed of `folder`."""
    with (folder / RULES).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=RULE_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def variants(
    proposed: Path, start: date, work: Path, current: Path = CONTRACT_DIR
) -> list[Variant]:
    """The contract folders of both modes under `work`, each a complete contract."""
    made = []
    for name, title in (
        ("from", f"from {start.isoformat()} on"),
        ("restated", "restating all history"),
    ):
        folder = work / name
        shutil.copytree(current, folder)
        overlay(proposed, folder)
        if name == "from":
            write_rules(rules_from(current, proposed, start), folder)
        made.append(Variant(name, title, folder))
    return made
