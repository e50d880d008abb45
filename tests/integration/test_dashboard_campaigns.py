"""The Campaigns page (AppTest) on a publication of the hand-written scenario: credit,
credited pipeline and won revenue per campaign and attribution model equal SQL against
`fct_attribution`, the models hand out each opportunity once, and the period and
campaign-type filters change the figures as SQL says."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.navigation import CAMPAIGNS
from tests.support.dashboard import app, metric, sql

pytestmark = pytest.mark.integration

OPENED = (
    "(select opportunity_id, min(occurred_at)::date as opened_on from marts.fct_lead_events "
    "where event_type = 'opportunity_stage_change' group by opportunity_id)"
)
CREDITS = (
    "from marts.fct_attribution as a join marts.dim_campaign as c using (campaign_key) "
    f"join {OPENED} as o using (opportunity_id) "
    "where coalesce(c.campaign_type, '(no type)') like '{type}' "
    "and o.opened_on between '{first}' and '{last}'"
)
EVERY = {"type": "%", "first": "1900-01-01", "last": "2999-12-31"}


def per_model(published, **where: str) -> dict[str, tuple[float, float]]:
    """(credited pipeline, won revenue) per attribution model, as the metrics show them."""
    rows = sql(
        published,
        "select attribution_model, sum(credited_pipeline_amount), sum(credited_won_revenue) "
        + CREDITS.format(**(EVERY | where))
        + " group by attribution_model",
    )
    return {model: (float(pipeline), float(won)) for model, pipeline, won in rows}


def shown_per_model(at) -> dict[str, tuple[float, float]]:
    won = "Won revenue · "
    models = [m.label.removeprefix(won) for m in at.metric if m.label.startswith(won)]
    return {
        model: tuple(
            float(metric(at, f"{label} · {model}").replace(",", ""))
            for label in ("Credited pipeline", "Won revenue")
        )
        for model in models
    }


def tables(at) -> dict[str, object]:
    """The page's tables by their heading (the first table, the models' legend, has none)."""
    return {s.value: d.value for s, d in zip(at.subheader, at.dataframe[1:], strict=True)}


def rounded(figures: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    return {model: tuple(round(v) for v in values) for model, values in figures.items()}


def test_campaign_credit_and_won_revenue_per_model_equal_fct_attribution(published):
    at = app(CAMPAIGNS)
    expected = per_model(published)
    models = [
        model
        for (model,) in sql(
            published, "select distinct attribution_model from marts.fct_attribution order by 1"
        )
    ]
    assert sorted(shown_per_model(at)) == models
    assert rounded(shown_per_model(at)) == rounded(expected)
    assert any(won > 0 for _, won in expected.values())  # the scenario has won revenue
    [(opportunities, won)] = sql(
        published,
        "select count(distinct opportunity_id), count(distinct opportunity_id) filter (is_won) "
        "from marts.fct_attribution",
    )
    assert metric(at, "Attributed opportunities") == f"{opportunities:,}"
    assert metric(at, "Won opportunities") == f"{won:,}"
    won_by_campaign = sql(
        published,
        "select c.campaign_name, a.attribution_model, sum(a.credited_won_revenue) "
        "from marts.fct_attribution as a join marts.dim_campaign as c using (campaign_key) "
        "group by all",
    )
    shown = tables(at)["Won revenue by campaign"].set_index("campaign")
    assert {(name, model): float(shown.loc[name, model]) for name, model, _ in won_by_campaign} == {
        (name, model): float(value) for name, model, value in won_by_campaign
    }
    # the models disagree on which campaign earned the revenue
    assert len({tuple(shown[model]) for model in models}) > 1
    assert any("Definitions" in link.label for link in at.get("page_link"))


def test_every_model_hands_out_each_opportunity_once(published):
    at = app(CAMPAIGNS)
    [(off,)] = sql(
        published,
        "select count(*) from (select sum(credit) as credit, max(touches_in_window) as touches "
        "from marts.fct_attribution group by opportunity_id, attribution_model) "
        "where abs(credit - 1) > touches * 0.5e-6",
    )
    assert metric(at, "Opportunity credits not summing to 1") == f"{off:,}"
    totals = sql(
        published,
        "select attribution_model, count(distinct opportunity_id), sum(credit), "
        "sum(credited_won_revenue) from marts.fct_attribution group by 1 order by 1",
    )
    check = tables(at)["Check: every model hands out each opportunity once"]
    shown = check[["model", "opportunities", "sum of credits", "won revenue"]]
    assert [
        (model, n, round(credit, 4), round(won, 2))
        for model, n, credit, won in shown.itertuples(index=False)
    ] == [(model, n, round(float(c), 4), round(float(w), 2)) for model, n, c, w in totals]


def test_the_period_keeps_only_opportunities_opened_in_it(published):
    at = app(CAMPAIGNS)
    [(first, last)] = sql(published, f"select min(opened_on), max(opened_on) from {OPENED}")
    before = (first - timedelta(days=30), first - timedelta(days=1))
    at.date_input[0].set_value(before).run()
    assert not at.exception
    expected = per_model(published, first=str(before[0]), last=str(before[1]))
    assert metric(at, "Attributed opportunities") == "0" and not expected
    assert set(shown_per_model(at).values()) == {(0.0, 0.0)}
    at.date_input[0].set_value((first, last)).run()
    assert rounded(shown_per_model(at)) == rounded(
        per_model(published, first=str(first), last=str(last))
    )


def test_the_campaign_type_filter_narrows_the_credit_to_those_campaigns(published):
    at = app(CAMPAIGNS)
    everyone = per_model(published)
    check = tables(at)["Check: every model hands out each opportunity once"]
    [(kind,)] = sql(
        published,
        "select distinct c.campaign_type from marts.fct_attribution as a "
        "join marts.dim_campaign as c using (campaign_key) "
        "where a.attribution_model = 'last_touch' and a.credit = 1",
    )
    at.multiselect[0].set_value([kind]).run()
    assert not at.exception
    one = per_model(published, type=kind)
    assert rounded(one) != rounded(everyone)
    assert rounded(shown_per_model(at)) == rounded(one)
    shown = tables(at)
    assert set(shown["Won revenue by campaign"]["type"]) == {kind}
    # the check is about opportunities, not campaigns: the type filter leaves it alone
    assert shown["Check: every model hands out each opportunity once"].equals(check)
