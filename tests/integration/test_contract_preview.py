"""The contract-change preview (preview/) on the hand-written scenario: a raised MQL
threshold changes exactly the people checked by hand, in both effective-dating modes,
and leaves the working marts and the publication as they were; an invalid proposal is
refused with the validation's own messages."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from leadbridge.content import content_hash
from leadbridge.contract import CONTRACT_DIR, RULES, validate
from preview.proposal import ContractRefused, changed_rules, rules_from
from preview.report import PreviewReport
from preview.run import main, run_preview
from tests.support.dashboard import app, metric, sql
from tests.support.dbt_scenario import CAROL, ERIN

pytestmark = pytest.mark.integration

THRESHOLD = "mql_score_threshold,2024-01-01,50,"


def propose(folder: Path, old: str, new: str) -> Path:
    """A copy of the contract with one text replaced in its rules."""
    shutil.copytree(CONTRACT_DIR, folder)
    rules = folder / RULES
    text = rules.read_text()
    assert old in text
    rules.write_text(text.replace(old, new))
    return folder


def marts_hashes(warehouse: Path) -> dict[str, str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        ]
        return {name: content_hash(con, "marts", name) for name in tables}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def raised(scenario_marts, tmp_path_factory) -> tuple[Path, PreviewReport]:
    """A preview of the MQL threshold raised from 50 to 72, adopted from 2026-01-08."""
    warehouse, _ = scenario_marts
    folder = propose(
        tmp_path_factory.mktemp("proposal") / "contract",
        THRESHOLD,
        "mql_score_threshold,2024-01-01,72,",
    )
    return warehouse, run_preview(folder, date(2026, 1, 8), warehouse=warehouse, log=print)


def changed(report: PreviewReport, variant: str) -> set[str]:
    return {row["person_id"] for row in report.changes[variant]["sample"]}


def test_raising_the_mql_threshold_previews_exactly_the_people_checked_by_hand(raised):
    # By hand from tests/fixtures/raw_scenario.py's score history: Carol is an MQL by a
    # score of exactly 50 (2026-01-09): below 72 she is none. Erin crossed with 70
    # (2026-01-05) and, recycled, with 75 (2026-01-23): restated, her first MQL and
    # first hand-off move to the 23rd. Alice scored 60 but is an MQL by her lifecycle
    # stage; Dan by his. From 2026-01-08 on, Erin's 2026-01-05 crossing keeps the old rule.
    _, report = raised
    assert changed(report, "restated") == {CAROL, ERIN}
    assert changed(report, "from") == {CAROL}
    assert report.changed_rules == ["mql_score_threshold"]
    restated = {row["person_id"]: row for row in report.changes["restated"]["sample"]}
    assert restated[CAROL]["mql_before"] == "2026-01-09 22:00"
    assert restated[CAROL]["mql_after"] is None and restated[CAROL]["sla_after"] is None
    assert restated[ERIN]["mql_after"] == "2026-01-23 14:00"
    assert report.changes["restated"]["counts"] == {
        "people": 2,
        "first MQL date": 2,
        "first SQL date": 0,
        "SLA outcome": 2,
    }


def test_the_monthly_figures_side_by_side_are_those_of_the_marts(raised):
    warehouse, report = raised
    [(mqls, met, breached)] = sql(
        warehouse,
        "select (select count(first_mql_at) from marts.fct_funnel), "
        "(select count(*) filter (sla_status = 'met') from marts.fct_sla), "
        "(select count(*) filter (sla_status = 'breached') from marts.fct_sla)",
    )
    [january] = report.tables["monthly"]  # the scenario is one January
    assert january["month"] == "2026-01"
    assert january["mqls current"] == mqls
    assert january["mqls restated"] == mqls - 1  # Carol; Erin stays an MQL in January
    assert january["mqls from"] == mqls - 1
    assert january["sla_compliance current"] == pytest.approx(met / (met + breached))
    shares = {
        (row["model"], row["campaign"]): row["share current"]
        for row in report.tables["attribution"]
    }
    assert sum(v for (model, _), v in shares.items() if model == "linear") == pytest.approx(1)


def test_a_preview_leaves_the_working_marts_and_the_publication_untouched(
    scenario_marts, published, tmp_path
):
    warehouse, _ = scenario_marts
    before = marts_hashes(warehouse), sha256(published)
    folder = propose(tmp_path / "contract", THRESHOLD, "mql_score_threshold,2024-01-01,51,")
    report = run_preview(folder, warehouse=warehouse, log=print)
    assert changed(report, "restated") == {CAROL}
    assert (marts_hashes(warehouse), sha256(published)) == before
    assert not list(warehouse.parent.glob(".preview-*"))  # the scratch copy is gone


def test_the_report_files_name_people_by_key_only(raised, tmp_path):
    _, report = raised
    paths = report.write(tmp_path)
    text = paths["html"].read_text() + paths["md"].read_text()
    assert CAROL in text and ERIN in text
    assert "carol@" not in text.lower() and "Carol" not in text
    assert PreviewReport.read(paths["json"]).changes == report.changes


def test_an_invalid_proposed_contract_is_refused_with_the_validation_message(
    scenario_marts, tmp_path, capsys
):
    warehouse, _ = scenario_marts
    folder = propose(tmp_path / "contract", THRESHOLD, "mql_score_threshold,2024-01-01,fifty,")
    violations = [str(v) for v in validate(folder)]
    assert violations == [
        f"{RULES} line 2: rule mql_score_threshold: 'fifty' is not a number (points)"
    ]
    with pytest.raises(ContractRefused) as refused:
        run_preview(folder, warehouse=warehouse, log=print)
    assert str(refused.value).splitlines()[1:] == violations
    assert main(["--contract", str(folder), "--out", str(tmp_path / "out")]) == 1
    assert violations[0] in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_from_a_date_keeps_the_old_versions_before_it(tmp_path):
    folder = propose(tmp_path / "contract", THRESHOLD, "mql_score_threshold,2024-01-01,60,")
    rows = rules_from(CONTRACT_DIR, folder, date(2026, 3, 1))
    threshold = [
        (r["effective_from"], r["rule_value"])
        for r in rows
        if r["rule_key"] == ("mql_score_threshold")
    ]
    assert threshold == [("2024-01-01", "50"), ("2026-03-01", "60")]
    assert changed_rules(CONTRACT_DIR, folder) == ["mql_score_threshold"]
    others = [r for r in rows if r["rule_key"] != "mql_score_threshold"]
    assert len(others) == len(rows) - 2  # every other rule as it is


def test_the_dagster_job_previews_with_run_config_and_fails_on_an_invalid_contract(
    scenario_marts, tmp_path, monkeypatch
):
    from orchestration.defs.preview import contract_preview_job

    warehouse, _ = scenario_marts
    monkeypatch.setenv("LEADBRIDGE_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("LEADBRIDGE_TARGET", "duckdb")
    invalid = propose(tmp_path / "invalid", THRESHOLD, "mql_score_threshold,2024-01-01,fifty,")
    config = {"contract": str(invalid), "out": str(tmp_path / "out")}
    result = contract_preview_job.execute_in_process(
        run_config={"ops": {"preview_contract": {"config": config}}}, raise_on_error=False
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert str(validate(invalid)[0]) in failure.step_failure_data.error.message
    assert not (tmp_path / "out").exists()
    valid = propose(tmp_path / "valid", THRESHOLD, "mql_score_threshold,2024-01-01,51,")
    config = {"contract": str(valid), "out": str(tmp_path / "out"), "from_date": "2026-01-10"}
    result = contract_preview_job.execute_in_process(
        run_config={"ops": {"preview_contract": {"config": config}}}
    )
    report = PreviewReport.read(Path(result.output_for_node("preview_contract")))
    assert report.start == "2026-01-10"
    assert changed(report, "from") == set()  # Carol crossed 50 on the 9th: old rule
    assert changed(report, "restated") == {CAROL}


def test_the_dashboard_page_shows_the_latest_preview_and_the_rules_in_force(
    raised, published, tmp_path, monkeypatch
):
    from dashboard.navigation import CONTRACT_PREVIEW
    from preview.report import NAME

    _, report = raised
    monkeypatch.setenv("LEADBRIDGE_WAREHOUSE", str(tmp_path / "leadbridge.duckdb"))
    [(rules,)] = sql(
        published,
        "select count(*) from marts.dim_lead_contract where item_kind = 'rule' and is_in_force",
    )
    at = app(CONTRACT_PREVIEW)
    assert metric(at, "Rules in force") == f"{rules:,}"
    assert "make preview" in at.info[0].value  # no preview yet
    report.write(tmp_path / "reports" / NAME)
    at = app(CONTRACT_PREVIEW)
    for name, found in report.changes.items():
        label = f"People who change, {report.variants[name]}"
        assert metric(at, label) == str(len(found["sample"]))
    assert metric(at, "People who change, restating all history") == "2"
    assert not at.info
