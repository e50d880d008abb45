"""The funnel's filters, headless (AppTest): first-touch campaign, current owner, that
owner's team and the creation-month cohort each change the figures as SQL on the
published marts says (team and cohort on copies of the scenario with a second team and a
second creation month: the scenario has one of each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.navigation import FUNNEL
from tests.support.changed_marts import publish_changed
from tests.support.dashboard import app, metric, sql

pytestmark = pytest.mark.integration

PEOPLE = (
    "from marts.fct_funnel as f join marts.dim_person as p on p.person_id = f.person_id "
    "left join marts.dim_campaign as c on c.campaign_key = p.first_touch_campaign_key "
    "left join marts.dim_owner as o on o.owner_key = p.owner_key"
)
FIGURES = (
    "select count(*) filter (f.first_mql_at is not null), count(*) filter (f.is_sql_reached), "
    "count(*) filter (f.converted_mql_to_sql), count(*) filter (f.is_customer_reached), "
    f"median(f.days_mql_to_sql) {PEOPLE}"
)


LABELS = ("MQLs", "SQLs", "MQL→SQL rate", "Won", "MQL→SQL days")


def expected(published: Path, where: str = "true") -> dict[str, str]:
    """The funnel's figures of the people `where` selects, as the page shows them."""
    [(mqls, sqls, converted, won, days)] = sql(published, f"{FIGURES} where {where}")
    return {
        "MQLs": f"{mqls:,}",
        "SQLs": f"{sqls:,}",
        "MQL→SQL rate": f"{converted / mqls:.1%}" if mqls else "–",
        "Won": f"{won:,}",
        "MQL→SQL days": "–" if days is None else f"{days:.1f}",
    }


def shown(at) -> dict[str, str]:
    return {label: metric(at, label) for label in LABELS}


@pytest.mark.parametrize(
    ("key", "column"), [("campaign", "c.campaign_name"), ("owner", "o.owner_name")]
)
def test_a_campaign_or_owner_filter_shows_that_campaigns_or_owners_people(published, key, column):
    # the value whose people include the scenario's customer, so that the figures move
    [(value,)] = sql(published, f"select {column} {PEOPLE} where f.is_customer_reached")
    everyone, chosen = expected(published), expected(published, f"{column} = '{value}'")
    assert everyone != chosen
    at = app(FUNNEL)
    assert shown(at) == everyone
    assert value in at.multiselect(key=key).options
    at.multiselect(key=key).set_value([value]).run()
    assert not at.exception
    assert shown(at) == chosen


def test_a_team_filter_shows_the_people_whose_current_owner_is_in_that_team(
    scenario_marts, published
):
    # the scenario's owners are all in one team: the customer's owner moves to another
    publish_changed(
        scenario_marts,
        published,
        "update marts.dim_owner set team = 'Enterprise' where owner_key = "
        "(select p.owner_key from marts.fct_funnel as f join marts.dim_person as p "
        "on p.person_id = f.person_id where f.is_customer_reached)",
    )
    teams = sql(published, f"select distinct coalesce(o.team, '(no team)') {PEOPLE} order by 1")
    assert len(teams) == 3  # Enterprise, the scenario's team, and people without an owner
    at = app(FUNNEL)
    assert at.multiselect(key="team").options == [team for (team,) in teams]
    for (team,) in teams:
        where = "o.team is null" if team == "(no team)" else f"o.team = '{team}'"
        chosen = expected(published, where)
        assert chosen != expected(published)
        at.multiselect(key="team").set_value([team]).run()
        assert not at.exception
        assert shown(at) == chosen, team


def test_the_campaign_breakdown_names_people_without_one_and_the_campaign_of_the_rest(
    published,
):
    at = app(FUNNEL)
    rows = sql(
        published,
        f"select coalesce(c.campaign_name, '(no campaign)') as campaign, "
        f"count(*) filter (f.first_mql_at is not null) {PEOPLE} group by 1 order by 1",
    )
    by_campaign = at.dataframe[2].value
    assert list(zip(by_campaign["campaign"], by_campaign["MQLs"], strict=True)) == rows


def test_the_cohort_slider_keeps_the_people_created_in_the_chosen_months(scenario_marts, published):
    # two of the MQLs created a month earlier: a second creation month
    publish_changed(
        scenario_marts,
        published,
        "update marts.dim_person set created_at = created_at - interval 1 month "
        "where person_id in (select person_id from marts.fct_funnel "
        "where first_mql_at is not null order by person_id limit 2)",
    )
    months = [
        m
        for (m,) in sql(
            published,
            "select distinct strftime(created_at, '%Y-%m') from marts.dim_person order by 1",
        )
    ]
    assert len(months) == 2
    at = app(FUNNEL)
    assert shown(at) == expected(published)
    slider = at.select_slider(key="cohort")
    assert slider.options == months
    for first, last in [(months[0], months[0]), (months[1], months[1])]:
        slider.set_range(first, last).run()
        assert not at.exception
        chosen = expected(
            published, f"strftime(p.created_at, '%Y-%m') between '{first}' and '{last}'"
        )
        assert chosen != expected(published)
        assert shown(at) == chosen, (first, last)
        assert at.dataframe[1].value["cohort"].tolist() == [first]
