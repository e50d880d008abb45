"""The dashboard's pages, headless (Streamlit's AppTest), on a publication of the
hand-written scenario: each page's figure equals SQL against the published marts, the
state before any publication, and a publication swapped in during a session."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from dashboard.navigation import DATA_TRUST, DEFINITIONS, FUNNEL, PAGES, SCOREBOARD, SLA
from leadbridge.publication import Unpublished, publish_marts, read_publication
from tests.support.dashboard import app, metric, sql

pytestmark = pytest.mark.integration

SCRIPTS = [script for script, _ in PAGES]


MONTH = (
    "from marts.mart_kpis_daily where date_trunc('month', kpi_date) = "
    "(select date_trunc('month', max(kpi_date)) from marts.mart_kpis_daily)"
)
QUARTER = MONTH.replace("'month'", "'quarter'")


def test_the_scoreboard_shows_this_month_and_quarter_as_the_kpi_mart_counts_them(published):
    at = app()
    [(mqls, sqls)] = sql(published, f"select sum(mqls), sum(sqls) {MONTH}")
    [(met, breached, converted, quarter_mqls)] = sql(
        published,
        f"select sum(sla_met), sum(sla_breached), sum(mqls_converted_to_sql), sum(mqls) {QUARTER}",
    )
    assert mqls > 0 and met + breached > 0  # the scenario has figures to show
    assert metric(at, "MQLs (month)") == f"{mqls:,}"
    assert metric(at, "SQLs (month)") == f"{sqls:,}"
    assert metric(at, "SLA compliance (quarter)") == f"{met / (met + breached):.1%}"
    assert metric(at, "MQL→SQL rate (quarter)") == f"{converted / quarter_mqls:.1%}"
    assert any("Definitions" in link.label for link in at.get("page_link"))
    assert not at.warning  # published just now: no "figures as of" banner


def test_definitions_show_every_contract_item_in_force(published):
    at = app(DEFINITIONS)
    [(in_force, rules)] = sql(
        published,
        "select count(*), count(*) filter (item_kind = 'rule') "
        "from marts.dim_lead_contract where is_in_force",
    )
    assert metric(at, "Contract items in force") == f"{in_force:,}"
    assert f"Rules ({rules})" in [s.value for s in at.subheader]


def test_data_trust_names_the_publication_and_its_content_hash(published):
    at = app(DATA_TRUST)
    publication = read_publication(published)
    [(tables,)] = sql(published, "select count(*) from main._publication")
    assert metric(at, "Content hash") == publication.content_hash
    assert metric(at, "Run") == "night-1"
    assert metric(at, "Tables") == str(tables)


FUNNEL_FIGURES = (
    "select count(*) filter (f.first_mql_at is not null), "
    "count(*) filter (f.converted_mql_to_sql), count(*) filter (f.is_customer_reached), "
    "median(f.days_mql_to_sql) "
    "from marts.fct_funnel as f join marts.dim_person as p on p.person_id = f.person_id"
)


def funnel_figures(mqls: int, converted: int, won: int, days) -> dict[str, str]:
    return {
        "MQLs": f"{mqls:,}",
        "MQL→SQL rate": f"{converted / mqls:.1%}",
        "Won": f"{won:,}",
        "MQL→SQL days": f"{days:.1f}",
    }


def test_the_funnel_counts_and_converts_as_fct_funnel_defines_and_filters_by_source(published):
    at = app(FUNNEL)
    [everyone] = sql(published, FUNNEL_FIGURES)
    assert everyone[0] > everyone[1] > 0 and everyone[2] > 0  # the scenario converts some
    for label, value in funnel_figures(*everyone).items():
        assert metric(at, label) == value, label
    [(source,)] = sql(
        published,
        "select p.source_channel from marts.fct_funnel as f join marts.dim_person as p "
        "on p.person_id = f.person_id where f.is_customer_reached",
    )
    [one] = sql(published, f"{FUNNEL_FIGURES} where p.source_channel = '{source}'")
    assert one != everyone
    at.multiselect[0].set_value([source]).run()
    assert not at.exception
    for label, value in funnel_figures(*one).items():
        assert metric(at, label) == value, label
    by_source = at.dataframe[0].value
    assert by_source["source"].tolist() == [source]


SLA_FIGURES = (
    "select count(*) filter (sla_status = 'met'), count(*) filter (sla_status = 'breached'), "
    "median(business_hours_to_first_touch), quantile_cont(business_hours_to_first_touch, 0.9) "
    "from marts.fct_sla as s join marts.dim_owner as o on o.owner_key = s.owner_key_at_handoff"
)


def sla_figures(met: int, breached: int, median, p90) -> dict[str, str]:
    return {
        "SLA compliance": f"{met / (met + breached):.1%}",
        "Breached": f"{breached:,}",
        "Median hours to first touch": f"{median:.1f}",
        "p90 hours to first touch": f"{p90:.1f}",
    }


def test_sla_compliance_time_to_touch_and_queue_equal_the_marts_and_filter_by_owner(published):
    at = app(SLA)
    [everyone] = sql(published, SLA_FIGURES)
    assert everyone[0] > 0 and everyone[1] > 0  # the scenario has both outcomes
    for label, value in sla_figures(*everyone).items():
        assert metric(at, label) == value, label
    queue = sql(
        published,
        "select q.queue_position, o.owner_name, q.recent_history from marts.mart_handoff_queue "
        "as q join marts.dim_owner as o on o.owner_key = q.owner_key order by q.sla_deadline_at",
    )
    assert queue  # someone waits for a first touch
    shown = at.dataframe[-1].value
    assert list(zip(shown["#"], shown["owner"], shown["recent history"], strict=True)) == queue
    [(owner,)] = sql(
        published,
        "select distinct o.owner_name from marts.fct_sla as s join marts.dim_owner as o "
        "on o.owner_key = s.owner_key_at_handoff where s.sla_status = 'breached'",
    )
    breaches = at.dataframe[2].value
    assert breaches["owner at hand-off"].tolist() == [owner] * everyone[1]
    [one] = sql(published, f"{SLA_FIGURES} where o.owner_name = '{owner}'")
    assert one != everyone
    at.multiselect[0].set_value([owner]).run()
    assert not at.exception
    for label, value in sla_figures(*one).items():
        assert metric(at, label) == value, label
    assert at.dataframe[0].value["owner"].tolist() == [owner]


def test_before_any_publication_every_page_names_the_command_and_raises_nothing(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("LEADBRIDGE_PUBLISHED", str(tmp_path / "none" / "marts.duckdb"))
    monkeypatch.setenv("LEADBRIDGE_TARGET", "duckdb")
    for page in SCRIPTS:
        at = app(page)
        assert len(at.info) == 1 and "`make run`" in at.info[0].value
        assert not at.metric


def test_a_publication_swapped_in_during_a_session_shows_on_the_next_run(
    scenario_marts, published, tmp_path
):
    at = app()
    before = metric(at, "MQLs (month)")
    warehouse = tmp_path / "changed.duckdb"
    shutil.copy(scenario_marts[0], warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.mart_kpis_daily set mqls = mqls + 5 "
            "where kpi_date = (select max(kpi_date) from marts.mart_kpis_daily)"
        )
    publish_marts(warehouse, published, "night-2", scenario_marts[1])
    at.run()
    assert not at.exception
    assert metric(at, "MQLs (month)") == f"{int(before.replace(',', '')) + 5:,}"
    at.switch_page(DATA_TRUST)
    at.run()
    assert metric(at, "Run") == "night-2"
    assert metric(at, "Content hash") == read_publication(published).content_hash


def test_every_page_says_figures_as_of_the_publication_when_the_last_night_did_not_publish(
    published, tmp_path, monkeypatch
):
    old = tmp_path / "old" / "leadbridge_marts.duckdb"
    old.parent.mkdir()
    shutil.copyfile(published, old)
    with duckdb.connect(str(old)) as con:
        con.execute("update main._publication set published_at = timestamp '2026-01-23 01:30'")
    monkeypatch.setenv("LEADBRIDGE_PUBLISHED", str(old))
    for page in SCRIPTS:
        at = app(page)
        assert [w.value for w in at.warning] == [
            "The last night did not publish: figures as of 2026-01-23."
        ]


def test_a_publication_without_a_pages_mart_shows_a_message_not_a_traceback(
    scenario_marts, tmp_path, monkeypatch
):
    warehouse, hidden = scenario_marts
    partial = tmp_path / "partial" / "leadbridge_marts.duckdb"
    without = Unpublished(hidden.tables | {("marts", "mart_kpis_daily")}, hidden.columns)
    publish_marts(warehouse, partial, "partial", without)
    monkeypatch.setenv("LEADBRIDGE_PUBLISHED", str(partial))
    at = app()
    assert len(at.error) == 1 and "cannot read the published marts" in at.error[0].value
    assert "mart_kpis_daily" in at.error[0].value
    assert metric(app(DEFINITIONS), "Contract items in force") != "0"


def test_an_empty_orgs_first_publication_renders_every_page_without_an_error(
    scenario_marts, tmp_path, monkeypatch
):
    # a young org's first night publishes every mart, all of them empty
    warehouse = tmp_path / "empty.duckdb"
    shutil.copy(scenario_marts[0], warehouse)
    with duckdb.connect(str(warehouse)) as con:
        marts = con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' and table_type = 'BASE TABLE'"
        ).fetchall()
        for (table,) in marts:
            con.execute(f'delete from marts."{table}"')
    target = tmp_path / "published" / "leadbridge_marts.duckdb"
    publish_marts(warehouse, target, "first-night", scenario_marts[1])
    monkeypatch.setenv("LEADBRIDGE_PUBLISHED", str(target))
    monkeypatch.setenv("LEADBRIDGE_TARGET", "duckdb")
    shown = {}
    for page in SCRIPTS:
        at = app(page)  # no exception
        assert not at.error, (page, [e.value for e in at.error])
        shown[page] = ([i.value for i in at.info], {m.label: m.value for m in at.metric})
    assert shown[SCOREBOARD][0] == ["The published KPIs have no day yet."]
    assert shown[FUNNEL][0] == ["The published funnel has no person yet."]
    assert shown[SLA][1]["Hand-offs"] == "0" and shown[SLA][1]["SLA compliance"] == "–"
    assert shown[DEFINITIONS][1]["Contract items in force"] == "0"
    assert shown[DATA_TRUST][1]["Run"] == "first-night"


def test_an_unreachable_database_or_a_bad_setting_is_one_message_on_every_page(monkeypatch):
    monkeypatch.setenv("LEADBRIDGE_TARGET", "postgres")
    monkeypatch.setenv("LEADBRIDGE_PG_HOST", "127.0.0.1")
    monkeypatch.setenv("LEADBRIDGE_PG_PORT", "9")  # discard: nothing listens there
    for page in SCRIPTS:
        at = app(page)
        assert len(at.error) == 1 and "cannot reach the published marts" in at.error[0].value
    monkeypatch.setenv("LEADBRIDGE_TARGET", "oracle")
    at = app()
    assert len(at.error) == 1 and "settings are invalid" in at.error[0].value
    assert "LEADBRIDGE_TARGET" in at.error[0].value
