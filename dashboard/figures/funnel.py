"""The funnel's figures: MQL → SAL → SQL → opportunity → won from `fct_funnel`, per person
with the source, first-touch campaign, current owner (and their team) and creation month;
stage counts, conversion rates, velocity and breakdowns of any filtered set of people."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from dashboard.figures import DASH, Metric, owner_name, percent, ratio
from dashboard.marts import Frames

NO_SOURCE = "(no source)"
NO_CAMPAIGN = "(no campaign)"
NO_TEAM = "(no team)"
PEOPLE = (
    "select coalesce(person.source_channel, '" + NO_SOURCE + "') as source, "
    "coalesce(campaign.campaign_name, person.first_touch_campaign_key, '"
    + NO_CAMPAIGN
    + "') as campaign, "
    + owner_name("person.owner_key")
    + " as owner, coalesce(owner.team, '"
    + NO_TEAM
    + "') as team, person.created_at, "
    "funnel.is_sal_reached, funnel.is_sql_reached, "
    "funnel.is_opportunity_reached, funnel.is_customer_reached, "
    "funnel.first_mql_at is not null as entered_mql, "
    "funnel.first_sql_at is not null as entered_sql, "
    "funnel.first_opportunity_at is not null as entered_opportunity, "
    "funnel.converted_mql_to_sal, funnel.converted_mql_to_sql, "
    "funnel.converted_sql_to_opportunity, "
    "funnel.converted_opportunity_to_customer, funnel.days_mql_to_sal, funnel.days_mql_to_sql, "
    "funnel.days_sql_to_opportunity, funnel.days_opportunity_to_customer "
    "from {marts}.fct_funnel as funnel "
    "join {marts}.dim_person as person on person.person_id = funnel.person_id "
    "left join {marts}.dim_campaign as campaign "
    "on campaign.campaign_key = person.first_touch_campaign_key "
    "left join {marts}.dim_owner as owner on owner.owner_key = person.owner_key"
)
# (label, column): MQLs by first MQL entry, as the KPI mart counts them; every later stage
# by reach (the person got there or further)
STAGES = [
    ("MQLs", "entered_mql"),
    ("SALs", "is_sal_reached"),
    ("SQLs", "is_sql_reached"),
    ("Opportunities", "is_opportunity_reached"),
    ("Won", "is_customer_reached"),
]
# (label, people who entered the first stage, converted flag, days column)
STEPS = [
    ("MQL→SAL", "entered_mql", "converted_mql_to_sal", "days_mql_to_sal"),
    ("MQL→SQL", "entered_mql", "converted_mql_to_sql", "days_mql_to_sql"),
    ("SQL→opportunity", "entered_sql", "converted_sql_to_opportunity", "days_sql_to_opportunity"),
    (
        "Opportunity→won",
        "entered_opportunity",
        "converted_opportunity_to_customer",
        "days_opportunity_to_customer",
    ),
]
FLAGS = [column for _, column in STAGES] + [c for step in STEPS for c in step[1:3]]
DEFINITION = (
    "MQLs are people who entered MQL (the scoreboard's MQLs); every later stage counts "
    "the people who reached it or a later one. A rate divides those who "
    "converted (`fct_funnel.converted_*`) by those who entered the first stage. Cohort: the "
    "month the person's first record was created."
)


def people(marts: Frames) -> pd.DataFrame:
    """One row per person of `fct_funnel`, with the flags as booleans, the days as numbers
    and `cohort` (the creation month, `YYYY-MM`)."""
    rows = marts.frame(PEOPLE)
    return rows.astype({column: bool for column in FLAGS}).assign(
        cohort=pd.to_datetime(rows["created_at"]).dt.strftime("%Y-%m").fillna("unknown"),
        **{days: pd.to_numeric(rows[days]) for *_, days in STEPS},
    )


@dataclass(frozen=True)
class Filters:
    """Which people a page shows: cohort months from `first` to `last` (None: all), and
    the chosen values of each breakdown column (empty: all)."""

    first: str | None = None
    last: str | None = None
    chosen: tuple[tuple[str, Sequence[str]], ...] = ()

    def apply(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The people of `rows` these filters keep."""
        if self.first is not None:
            rows = rows[rows["cohort"] >= self.first]
        if self.last is not None:
            rows = rows[rows["cohort"] <= self.last]
        for column, values in self.chosen:
            if values:
                rows = rows[rows[column].isin(values)]
        return rows


def rate(rows: pd.DataFrame, entered: str, converted: str) -> float | None:
    """Those who converted among those who entered the step's first stage."""
    return ratio(int((rows[entered] & rows[converted]).sum()), int(rows[entered].sum()))


def stage_counts(rows: pd.DataFrame) -> list[Metric]:
    """People per stage."""
    return [Metric(label, f"{int(rows[flag].sum()):,}") for label, flag in STAGES]


def conversion(rows: pd.DataFrame) -> list[Metric]:
    """Each step's conversion rate."""
    return [Metric(f"{label} rate", percent(rate(rows, e, c))) for label, e, c, _ in STEPS]


def velocity(rows: pd.DataFrame) -> list[Metric]:
    """Each step's median days, among those who converted."""
    metrics = []
    for label, _, _, days in STEPS:
        converted = rows[days].dropna()
        shown = DASH if converted.empty else f"{converted.median():.1f}"
        metrics.append(Metric(f"{label} days", shown))
    return metrics


def breakdown(rows: pd.DataFrame, by: str) -> pd.DataFrame:
    """People per stage and conversion rates for each value of the column `by`."""
    table = []
    for value, group in rows.groupby(by):
        row = {by: value} | {label: int(group[flag].sum()) for label, flag in STAGES}
        for label, entered, converted, _ in STEPS:
            row[f"{label} rate"] = percent(rate(group, entered, converted))
        table.append(row)
    return pd.DataFrame(table)
