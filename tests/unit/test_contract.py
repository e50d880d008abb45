"""The lead contract is validated before a night uses it (leadbridge/contract.py)."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest
import yaml

from leadbridge import contract
from leadbridge.contract import (
    CONTRACT_DIR,
    HOLIDAYS,
    KPIS,
    MAPPINGS,
    RULE_TYPES,
    RULES,
    STAGES,
    TARGETS,
    Violation,
    validate,
)
from leadbridge.paths import DBT_EXECUTABLE, DBT_PROJECT_DIR

pytestmark = pytest.mark.unit

NIGHT = "2026-11-01 02:00:00"


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    """A copy of the shipped contract to break."""
    return Path(shutil.copytree(CONTRACT_DIR, tmp_path / "lead_contract"))


def _edit(folder: Path, name: str, line: int, column: str, value: str) -> None:
    """Set `column` of the record on CSV `line` (header = 1)."""
    rows = _read(folder / name)
    rows[line - 1][rows[0].index(column)] = value
    _write(folder / name, rows)


def _append(folder: Path, name: str, *records: list[str]) -> int:
    """Add records; the line of the first."""
    rows = _read(folder / name)
    _write(folder / name, rows + list(records))
    return len(rows) + 1


def _where(violations: list[Violation]) -> list[tuple[str, int | None]]:
    return [(v.file, v.line) for v in violations]


def _rule_line(key: str) -> int:
    rows = _read(CONTRACT_DIR / RULES)
    return next(n for n, row in enumerate(rows, start=1) if row[0] == key)


def test_the_shipped_contract_validates() -> None:
    assert validate(as_of=NIGHT) == []
    assert contract.failure_message(NIGHT) is None


# A value of the wrong type for each unit the shipped rules use: a rule with a new unit
# fails here until its typo is listed.
WRONG_BY_UNIT = {
    "points": "fifty",
    "list": "gmail.com||yahoo.com",
    "boolean": "yes",
    "business hours": "eight",
    "IANA time zone": "Eastern Time",
    "hour": "9am",
    "ISO weekdays": "Mon|Tue",
    "days": "90.5",
    "share": "30%",
}
SHIPPED_RULES = _read(CONTRACT_DIR / RULES)[1:]


@pytest.mark.parametrize(
    ("line", "key", "unit"),
    [(n, row[0], row[3]) for n, row in enumerate(SHIPPED_RULES, start=2)],
    ids=[row[0] for row in SHIPPED_RULES],
)
def test_a_mistyped_rule_value_is_a_violation_naming_file_line_and_rule(
    folder: Path, line: int, key: str, unit: str
) -> None:
    wrong = WRONG_BY_UNIT[unit]
    _edit(folder, RULES, line, "rule_value", wrong)
    violations = validate(folder, as_of=NIGHT)
    assert _where(violations) == [(RULES, line)]
    assert f"rule {key}: {wrong!r} is not" in violations[0].reason


def test_every_rule_the_seeds_yaml_accepts_has_a_type_and_no_other() -> None:
    seeds = yaml.safe_load((CONTRACT_DIR / "_lead_contract__seeds.yml").read_text())
    rules = next(s for s in seeds["seeds"] if s["name"] == "lead_contract__rules")
    rule_key = next(c for c in rules["columns"] if c["name"] == "rule_key")
    accepted = next(t for t in rule_key["data_tests"] if isinstance(t, dict))
    assert sorted(accepted["accepted_values"]["arguments"]["values"]) == sorted(RULE_TYPES)


def test_the_known_kpis_are_those_mart_kpis_daily_pivots_and_the_seeds_yaml_accepts() -> None:
    mart = (DBT_PROJECT_DIR / "models" / "marts" / "mart_kpis_daily.sql").read_text()
    assert sorted(set(re.findall(r"when kpi = '(\w+)'", mart))) == sorted(KPIS)
    seeds = yaml.safe_load((CONTRACT_DIR / "_lead_contract__seeds.yml").read_text())
    targets = next(s for s in seeds["seeds"] if s["name"] == "lead_contract__targets")
    kpi = next(c for c in targets["columns"] if c["name"] == "kpi")
    assert sorted(kpi["data_tests"][0]["accepted_values"]["arguments"]["values"]) == sorted(KPIS)


def test_an_unknown_rule_key_is_a_violation(folder: Path) -> None:
    line = _append(folder, RULES, ["mql_score_treshold", "2024-01-01", "50", "points", "typo"])
    violations = validate(folder, as_of=NIGHT)
    assert _where(violations) == [(RULES, line)]
    assert "unknown rule 'mql_score_treshold'" in violations[0].reason


def test_a_bad_effective_date_and_a_duplicated_version_are_violations(folder: Path) -> None:
    _edit(folder, RULES, _rule_line("sla_business_hours"), "effective_from", "2024-13-01")
    line = _append(folder, RULES, ["mql_score_threshold", "2024-01-01", "60", "points", "x"])
    violations = validate(folder, as_of=NIGHT)
    assert _where(violations) == [(RULES, _rule_line("sla_business_hours")), (RULES, line)]
    assert "effective_from '2024-13-01' is not a date" in violations[0].reason
    assert "second version effective from 2024-01-01 (the first is on line 2)" in (
        violations[1].reason
    )


def test_a_missing_rule_is_a_violation_naming_it(folder: Path) -> None:
    rows = _read(folder / RULES)
    _write(folder / RULES, [row for row in rows if row[0] != "sla_touch_counts_events"])
    assert [str(v) for v in validate(folder, as_of=NIGHT)] == [
        f"{RULES}: rule sla_touch_counts_events is missing: the models read it"
    ]


def test_a_rule_with_no_version_in_force_on_the_night_is_a_violation(folder: Path) -> None:
    line = _rule_line("calendar_timezone")
    _edit(folder, RULES, line, "effective_from", "2027-01-01")
    violations = validate(folder, as_of=NIGHT)
    assert _where(violations) == [(RULES, line)]
    assert "no version in force on 2026-11-01" in violations[0].reason


def test_an_unknown_time_zone_is_a_violation(folder: Path) -> None:
    line = _rule_line("calendar_timezone")
    _edit(folder, RULES, line, "rule_value", "America/New_Yrok")
    violations = validate(folder, as_of=NIGHT)
    assert [str(v) for v in violations] == [
        f"{RULES} line {line}: rule calendar_timezone: 'America/New_Yrok' is not an IANA "
        "time zone such as America/New_York (IANA time zone)"
    ]


def test_a_mapping_to_an_unknown_stage_code_is_a_violation(folder: Path) -> None:
    _edit(folder, MAPPINGS, 4, "canonical_stage", "MQL")
    violations = validate(folder, as_of=NIGHT)
    assert _where(violations) == [(MAPPINGS, 4)]
    assert "maps to 'MQL', which is no stage_code" in violations[0].reason


def test_stage_kinds_and_orders_are_checked(folder: Path) -> None:
    _edit(folder, STAGES, 3, "stage_order", "1")  # lead takes subscriber's order
    _edit(folder, STAGES, 4, "stage_order", "3rd")
    _edit(folder, STAGES, 10, "stage_kind", "Reset")
    violations = validate(folder, as_of=NIGHT)
    assert _where(violations) == [(STAGES, 3), (STAGES, 4), (STAGES, 10)]
    assert "stage_order 1 is taken (line 2)" in violations[0].reason
    assert "'3rd' is not an integer" in violations[1].reason
    assert "stage_kind 'Reset' is not one of funnel, reset" in violations[2].reason


def test_w_weights_not_summing_to_one_are_a_violation(folder: Path) -> None:
    _edit(folder, RULES, _rule_line("attribution_w_first_weight"), "rule_value", "0.4")
    violations = validate(folder, as_of=NIGHT)
    assert _where(violations) == [(RULES, _rule_line("attribution_w_first_weight"))]
    assert "W-shaped weights in force from 2024-01-01 sum to 1.1, not 1" in violations[0].reason


def test_w_weights_are_summed_as_in_force_at_each_later_version(folder: Path) -> None:
    # a new middle weight alone breaks the sum from its date on, not before
    line = _append(
        folder, RULES, ["attribution_w_middle_weight", "2026-01-01", "0.2", "share", "more"]
    )
    violations = validate(folder, as_of=NIGHT)
    assert _where(violations) == [(RULES, line)]
    assert "in force from 2026-01-01 sum to 1.1" in violations[0].reason


def test_business_hours_starting_at_or_after_their_end_are_a_violation(folder: Path) -> None:
    line = _rule_line("business_day_start_hour")
    _edit(folder, RULES, line, "rule_value", "17")
    violations = validate(folder, as_of=NIGHT)
    assert _where(violations) == [(RULES, line)]
    assert "start at 17" in violations[0].reason and "end at 17" in violations[0].reason


def test_a_year_without_holidays_is_a_violation_naming_the_year(folder: Path) -> None:
    rows = _read(folder / HOLIDAYS)
    _write(folder / HOLIDAYS, [row for row in rows if not row[0].startswith("2025-")])
    assert [str(v) for v in validate(folder, as_of=NIGHT)] == [
        f"{HOLIDAYS}: no holiday in 2025: add that year's holidays, or business hours count "
        "them as working days"
    ]


def test_the_holiday_calendar_covers_the_years_up_to_the_night_or_those_given() -> None:
    assert [v.reason.split(":")[0] for v in validate(as_of="2029-03-01")] == ["no holiday in 2029"]
    assert [v.reason.split(":")[0] for v in validate(as_of=NIGHT, years=range(2022, 2027))] == [
        "no holiday in 2022",
        "no holiday in 2023",
    ]


def test_targets_need_a_first_of_month_a_known_kpi_and_a_number(folder: Path) -> None:
    _edit(folder, TARGETS, 2, "month_start", "2025-01-15")
    _edit(folder, TARGETS, 3, "kpi", "marketing_qualified_leads")
    _edit(folder, TARGETS, 4, "target_value", "six")
    _edit(folder, TARGETS, 8, "target_value", "90")  # sla_compliance_rate: a share
    violations = validate(folder, as_of=NIGHT)
    assert _where(violations) == [(TARGETS, 2), (TARGETS, 3), (TARGETS, 4), (TARGETS, 8)]
    assert "'2025-01-15' is not the first day of a month" in violations[0].reason
    assert "unknown kpi 'marketing_qualified_leads'" in violations[1].reason
    assert "target_value 'six' is not a number" in violations[2].reason
    assert "target_value 90 is not a share from 0 to 1" in violations[3].reason


def test_contract_check_prints_a_summary_or_the_violations(folder: Path, capsys) -> None:
    assert contract.main(["--contract", str(folder), "--as-of", "2026-11-01"]) == 0
    assert capsys.readouterr().out.startswith(
        "lead contract OK: 17 rules, 9 stages, 38 stage mappings"
    )
    _edit(folder, RULES, 2, "rule_value", "fifty")
    assert contract.main(["--contract", str(folder), "--as-of", "2026-11-01"]) == 1
    assert f"{RULES} line 2: rule mql_score_threshold: 'fifty'" in capsys.readouterr().err


def test_the_dbt_build_step_fails_on_a_broken_contract_before_dbt_runs(
    folder: Path, tmp_path: Path, monkeypatch
) -> None:
    import dagster as dg
    from dagster_dbt import DbtCliResource

    from orchestration.defs.resources import Warehouse
    from orchestration.defs.transform import DBT_PROJECT, dbt_build
    from tests.conftest import ensure_manifest

    ensure_manifest()
    _edit(folder, RULES, 2, "rule_value", "fifty")
    monkeypatch.setattr(contract, "CONTRACT_DIR", folder)
    # the warehouse resource exports the run's file to dbt's environment
    monkeypatch.setenv("LEADBRIDGE_WAREHOUSE", str(tmp_path / "w.duckdb"))

    def no_dbt(*args, **kwargs):
        raise AssertionError("dbt ran on a broken contract")

    monkeypatch.setattr(DbtCliResource, "cli", no_dbt)
    result = dg.materialize(
        [dbt_build],
        resources={
            "dbt": DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=str(DBT_EXECUTABLE)),
            "warehouse": Warehouse(path=str(tmp_path / "w.duckdb")),
        },
        run_config={"ops": {"dbt_build": {"config": {"as_of": NIGHT}}}},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    description = failure.step_failure_data.user_failure_data.description
    assert description.splitlines()[1:] == [
        f"{RULES} line 2: rule mql_score_threshold: 'fifty' is not a number (points)"
    ]
