"""The weekly alignment report (`make report`, dashboard.report) on a publication of the
hand-written scenario: its figures equal SQL against the published marts, it references
no external asset, and without a publication it fails naming `make run`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dashboard.report import main
from leadbridge.paths import REPO_ROOT
from leadbridge.publication import read_publication
from tests.support.dashboard import sql

pytestmark = pytest.mark.integration

MONTH = (
    "from marts.mart_kpis_daily where date_trunc('month', kpi_date) = "
    "(select date_trunc('month', max(kpi_date)) from marts.mart_kpis_daily)"
)
QUARTER = MONTH.replace("'month'", "'quarter'")


class Report(HTMLParser):
    """The metrics (label → value) and tables (name → rows of cell text) of a report,
    and every attribute value it carries."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.metrics: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self.attributes: list[str] = []
        self.tags: set[str] = set()
        self._label: str | None = None
        self._in_value = self._in_cell = False
        self._table: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.add(tag)
        self.attributes += [f"{name}={value}" for name, value in attrs]
        if "data-label" in attributes:
            self._label = attributes["data-label"]
        self._in_value = attributes.get("class") == "value" and self._label is not None
        if "data-table" in attributes:
            self._table = attributes["data-table"]
            self.tables[self._table] = []
        if tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        if tag == "td":
            self._in_cell = True
            self.tables[self._table][-1].append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_cell = False
        if tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._in_value:
            self.metrics[self._label] = data
            self._in_value, self._label = False, None
        if self._in_cell:
            self.tables[self._table][-1][-1] += data

    def rows(self, table: str) -> list[list[str]]:
        return [row for row in self.tables[table] if row]  # the header row has no cells


@pytest.fixture
def written(published, tmp_path, monkeypatch) -> Path:
    """`make report`'s entry point run on the published scenario, the warehouse (and so
    reports/) in tmp_path: the file it wrote."""
    monkeypatch.setenv("LEADBRIDGE_WAREHOUSE", str(tmp_path / "leadbridge.duckdb"))
    monkeypatch.setenv("LEADBRIDGE_TIMEZONE", "Europe/Berlin")
    assert main() == 0
    [report] = (tmp_path / "reports").iterdir()
    return report


def test_the_report_is_named_for_the_publications_night(written, published):
    published_at = read_publication(published).published_at.replace(tzinfo=UTC)
    local = published_at.astimezone(ZoneInfo("Europe/Berlin"))
    night = local.date() - timedelta(days=1 if local.time() < time(2) else 0)
    assert written.name == f"leadbridge-weekly-{night.isoformat()}.html"


def test_the_reports_scoreboard_figures_equal_the_kpi_mart(written, published):
    report = Report(written.read_text())
    [(mqls, sqls)] = sql(published, f"select sum(mqls), sum(sqls) {MONTH}")
    [(met, breached, converted, quarter_mqls)] = sql(
        published,
        f"select sum(sla_met), sum(sla_breached), sum(mqls_converted_to_sql), sum(mqls) {QUARTER}",
    )
    assert mqls > 0 and met + breached > 0
    assert report.metrics["MQLs (month)"] == f"{mqls:,}"
    assert report.metrics["SQLs (month)"] == f"{sqls:,}"
    assert report.metrics["SLA compliance (quarter)"] == f"{met / (met + breached):.1%}"
    assert report.metrics["MQL→SQL rate (quarter)"] == f"{converted / quarter_mqls:.1%}"
    [(months,)] = sql(
        published, "select count(distinct date_trunc('month', kpi_date)) from marts.mart_kpis_daily"
    )
    assert months == 1 and report.metrics["Lead velocity rate"] == "–"
    weekly = sql(
        published,
        "select strftime(date_trunc('week', kpi_date), '%Y-%m-%d'), sum(mqls) "
        "from marts.mart_kpis_daily group by 1 order by 1",
    )
    trend = report.rows("scoreboard-weekly-trend")
    assert [(row[0], int(row[2])) for row in trend] == weekly


def test_the_reports_sla_figures_and_queue_equal_the_sla_marts(written, published):
    report = Report(written.read_text())
    [(met, breached, median, p90)] = sql(
        published,
        "select count(*) filter (sla_status = 'met'), count(*) filter (sla_status = 'breached'), "
        "median(business_hours_to_first_touch), "
        "quantile_cont(business_hours_to_first_touch, 0.9) from marts.fct_sla",
    )
    assert met > 0 and breached > 0
    assert report.metrics["SLA compliance"] == f"{met / (met + breached):.1%}"
    assert report.metrics["Breached"] == f"{breached:,}"
    assert report.metrics["Median hours to first touch"] == f"{median:.1f}"
    assert report.metrics["p90 hours to first touch"] == f"{p90:.1f}"
    queue = sql(
        published,
        "select cast(q.queue_position as varchar), o.owner_name, q.recent_history "
        "from marts.mart_handoff_queue as q join marts.dim_owner as o "
        "on o.owner_key = q.owner_key order by q.sla_deadline_at",
    )
    assert queue
    assert [(row[0], row[1], row[5]) for row in report.rows("sla-queue")] == queue


def test_the_reports_funnel_figures_equal_fct_funnel(written, published):
    report = Report(written.read_text())
    [(mqls, converted, won, days)] = sql(
        published,
        "select count(*) filter (first_mql_at is not null), "
        "count(*) filter (converted_mql_to_sql), count(*) filter (is_customer_reached), "
        "median(days_mql_to_sql) from marts.fct_funnel",
    )
    assert mqls > converted > 0
    assert report.metrics["MQLs"] == f"{mqls:,}"
    assert report.metrics["MQL→SQL rate"] == f"{converted / mqls:.1%}"
    assert report.metrics["Won"] == f"{won:,}"
    assert report.metrics["MQL→SQL days"] == f"{days:.1f}"
    by_source = sql(
        published,
        "select coalesce(p.source_channel, '(no source)'), "
        "cast(count(*) filter (f.first_mql_at is not null) as varchar) "
        "from marts.fct_funnel as f join marts.dim_person as p on p.person_id = f.person_id "
        "group by 1 order by 1",
    )
    assert [(row[0], row[1]) for row in report.rows("funnel-by-source")] == by_source


def test_the_report_is_self_contained(written):
    text = written.read_text()
    report = Report(text)
    assert report.metrics and report.tables
    assert not report.tags & {"script", "link", "img", "iframe", "object", "embed"}
    # no attribute loads anything: no src/href, no url(...) in an inline style
    assert not [a for a in report.attributes if a.split("=")[0] in {"src", "href"}]
    assert not [a for a in report.attributes if "url(" in a or "//" in a]
    style = text[text.index("<style>") : text.index("</style>")]
    assert "url(" not in style and "@import" not in style


def test_without_a_publication_make_report_exits_non_zero_naming_make_run(tmp_path):
    env = {
        **os.environ,
        "LEADBRIDGE_PUBLISHED": str(tmp_path / "none" / "leadbridge_marts.duckdb"),
        "LEADBRIDGE_WAREHOUSE": str(tmp_path / "leadbridge.duckdb"),
        "LEADBRIDGE_TARGET": "duckdb",
        "PYTHONPATH": str(REPO_ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "dashboard.report"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "No publication yet" in done.stderr and "`make run`" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "reports").exists()
