"""The dashboard as a person sees it: the real Streamlit server on 127.0.0.1 and headless
Chromium (tests/support/browser.py). Every page of the menu shows a figure equal to SQL
against the published marts, raises nothing, and leaves a full-page screenshot.

Each page script of dashboard.navigation.PAGES needs its figure in FIGURES: a page added
to the menu without one fails here, with or without a browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from dashboard.navigation import (
    CAMPAIGNS,
    CONTRACT_PREVIEW,
    DATA_TRUST,
    DEFINITIONS,
    FUNNEL,
    LEAD_HISTORY,
    PAGES,
    SCOREBOARD,
    SLA,
    SYNC_HEALTH,
)
from tests.support.browser import (
    VIEWPORT,
    BrowserUnavailable,
    chromium,
    chromium_executable,
    dashboard_server,
    metric,
    open_page,
    screenshot,
    screenshot_name,
    type_in,
)
from tests.support.dashboard import sql

pytestmark = pytest.mark.e2e


def value(published: Path, statement: str):
    [(one,)] = sql(published, statement)
    return one


@dataclass(frozen=True)
class Figure:
    """A metric's label, the SQL whose one value it shows, and how the page formats it;
    for a page that shows it only after a search, the SQL of the text to type first."""

    label: str
    sql: str
    shown: str
    typed: str | None = None

    def expected(self, published: Path) -> str:
        return self.shown.format(value(published, self.sql))


RATE = "{:.1%}"
CUSTOMER = "(select min(person_id) from marts.dim_person where current_stage = 'customer')"
# One figure per page script of PAGES.
FIGURES: dict[str, Figure] = {
    SCOREBOARD: Figure(
        "MQLs (quarter)",
        "select sum(mqls) from marts.mart_kpis_daily where date_trunc('quarter', kpi_date) = "
        "(select date_trunc('quarter', max(kpi_date)) from marts.mart_kpis_daily)",
        "{:,}",
    ),
    FUNNEL: Figure(
        "MQL→SQL rate",
        "select count(*) filter (f.first_mql_at is not null and f.converted_mql_to_sql) "
        "/ count(*) filter (f.first_mql_at is not null) "
        "from marts.fct_funnel as f join marts.dim_person as p on p.person_id = f.person_id",
        RATE,
    ),
    SLA: Figure(
        "SLA compliance",
        "select count(*) filter (sla_status = 'met') "
        "/ count(*) filter (sla_status in ('met', 'breached')) from marts.fct_sla",
        RATE,
    ),
    DEFINITIONS: Figure(
        "Contract items in force",
        "select count(*) from marts.dim_lead_contract where is_in_force",
        "{:,}",
    ),
    DATA_TRUST: Figure("Tables", "select count(*) from main._publication", "{:,}"),
    CONTRACT_PREVIEW: Figure(
        "Rules in force",
        "select count(*) from marts.dim_lead_contract where item_kind = 'rule' and is_in_force",
        "{:,}",
    ),
    CAMPAIGNS: Figure(
        "Won opportunities",
        "select count(distinct opportunity_id) from marts.fct_attribution where is_won",
        "{:,}",
    ),
    SYNC_HEALTH: Figure(
        "People in both",
        "select count(*) from marts.mart_sync_health where system_presence = 'both'",
        "{:,}",
    ),
    LEAD_HISTORY: Figure(
        "Events",
        f"select count(*) from marts.fct_lead_events where person_id = {CUSTOMER} "
        "and occurred_at <= (select max(published_at) from main._publication)",
        "{:,}",
        typed=f"select {CUSTOMER}",
    ),
}


def test_every_page_of_the_menu_shows_its_figure_as_the_marts_count_it_in_chromium(
    published, tmp_path
):
    scripts = [script for script, _ in PAGES]
    missing = [script for script in scripts if script not in FIGURES]
    assert not missing, (
        f"pages of dashboard/navigation.py with no figure to check in FIGURES of "
        f"tests/e2e/{Path(__file__).name}: {missing}; add a metric label and its SQL for each"
    )
    assert set(FIGURES) <= set(scripts), f"FIGURES names pages not in PAGES: {FIGURES}"
    try:
        executable = chromium_executable()
    except BrowserUnavailable as error:
        pytest.skip(f"no browser to open the dashboard in: {error}")

    expected = {script: FIGURES[script].expected(published) for script in scripts}
    assert all(value not in ("0", "0.0%") for value in expected.values()), expected
    shown, shots = {}, []
    with dashboard_server(published) as url, chromium(executable) as browser:
        page = browser.new_page(viewport=VIEWPORT)
        for script, title in PAGES:
            open_page(page, url, title)
            figure = FIGURES[script]
            if figure.typed is not None:
                type_in(page, str(value(published, figure.typed)))
            shown[script] = metric(page, figure.label)
            shots.append(screenshot(page, tmp_path / screenshot_name(script)))
    assert shown == expected
    assert [shot.read_bytes()[:8] for shot in shots] == [b"\x89PNG\r\n\x1a\n"] * len(PAGES)
