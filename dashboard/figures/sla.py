"""The SLA and hand-off figures: compliance and time to first touch of `fct_sla`, overall,
by owner at hand-off and by week, the breaches, and the live queue of
`mart_handoff_queue` in urgency order."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from dashboard.figures import DASH, Metric, owner_name, percent, ratio
from dashboard.marts import Frames

HANDOFFS = (
    "select sla.handoff_id, sla.person_id, sla.handoff_at, "
    + owner_name("sla.owner_key_at_handoff")
    + " as owner, sla.sla_hours, sla.sla_deadline_at, sla.first_touch_at, "
    "sla.first_touch_type, sla.business_hours_to_first_touch, sla.business_hours_elapsed, "
    "sla.sla_status from {marts}.fct_sla as sla "
    "left join {marts}.dim_owner as owner on owner.owner_key = sla.owner_key_at_handoff "
    "order by sla.handoff_at"
)
QUEUE = (
    "select queue.queue_position, "
    + owner_name("queue.owner_key")
    + " as owner, queue.sla_deadline_at, queue.business_hours_remaining, queue.is_overdue, "
    "queue.recent_history, queue.next_scheduled_touch_at, queue.handoff_at, queue.person_id "
    "from {marts}.mart_handoff_queue as queue "
    "left join {marts}.dim_owner as owner on owner.owner_key = queue.owner_key "
    "order by queue.queue_position"
)
DEFINITION = (
    "Every MQL entry is a hand-off. Compliance is met / (met + breached); open hand-offs "
    "are left out. Hours are business hours in the lead contract's calendar."
)
# summary() keys shown as the page's headline metrics, with their labels
HEADLINE = [
    ("compliance", "SLA compliance"),
    ("hand-offs", "Hand-offs"),
    ("breached", "Breached"),
    ("median hours to first touch", "Median hours to first touch"),
    ("p90 hours to first touch", "p90 hours to first touch"),
]
BREACH_COLUMNS = [
    "handoff_at",
    "owner",
    "sla_hours",
    "sla_deadline_at",
    "first_touch_at",
    "first_touch_type",
    "business_hours_elapsed",
    "person_id",
]
QUEUE_LABELS = {
    "queue_position": "#",
    "sla_deadline_at": "deadline",
    "business_hours_remaining": "hours left",
    "is_overdue": "overdue",
    "recent_history": "recent history",
    "next_scheduled_touch_at": "next scheduled touch",
}


def handoffs(marts: Frames) -> pd.DataFrame:
    """Every hand-off of `fct_sla`, oldest first, with `hours` to first touch and the
    `week` (its Monday) of the hand-off."""
    rows = marts.frame(HANDOFFS)
    return rows.assign(
        hours=pd.to_numeric(rows["business_hours_to_first_touch"]),
        week=pd.to_datetime(rows["handoff_at"]).dt.to_period("W-SUN").dt.start_time,
    )


def queue(marts: Frames) -> pd.DataFrame:
    """The live hand-off queue, most urgent first."""
    return marts.frame(QUEUE)


def owners(*frames: pd.DataFrame) -> list[str]:
    """Every owner of the `owner` column of `frames`, sorted."""
    return sorted(set().union(*(set(frame["owner"]) for frame in frames)))


def for_owners(rows: pd.DataFrame, chosen: Sequence[str]) -> pd.DataFrame:
    """The rows of the `chosen` owners (none chosen: all)."""
    return rows[rows["owner"].isin(chosen)] if chosen else rows


def hours(values: pd.Series, quantile: float) -> str:
    """The `quantile` of the business hours to first touch, among hand-offs touched."""
    touched = values.dropna()
    return DASH if touched.empty else f"{touched.quantile(quantile):.1f}"


def summary(rows: pd.DataFrame) -> dict:
    """Hand-offs, their outcomes, compliance and time to first touch of `rows`."""
    met = int((rows["sla_status"] == "met").sum())
    breached = int((rows["sla_status"] == "breached").sum())
    return {
        "hand-offs": len(rows),
        "met": met,
        "breached": breached,
        "open": int((rows["sla_status"] == "open").sum()),
        "compliance": percent(ratio(met, met + breached)),
        "median hours to first touch": hours(rows["hours"], 0.5),
        "p90 hours to first touch": hours(rows["hours"], 0.9),
    }


def headline(rows: pd.DataFrame) -> list[Metric]:
    """The page's headline metrics of `rows`."""
    overall = summary(rows)
    return [Metric(label, _text(overall[key])) for key, label in HEADLINE]


def _text(value: str | int) -> str:
    return value if isinstance(value, str) else f"{value:,}"


def by(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """summary() for each value of `column` (owner or week)."""
    table = [{column: key} | summary(group) for key, group in rows.groupby(column)]
    return pd.DataFrame(table, columns=[column, *summary(rows)])


def breaches(rows: pd.DataFrame) -> pd.DataFrame:
    """Every breached hand-off with the owner at hand-off."""
    breached = rows[rows["sla_status"] == "breached"]
    return breached[BREACH_COLUMNS].rename(columns={"owner": "owner at hand-off"})


def queue_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The queue with its columns as shown."""
    return rows.rename(columns=QUEUE_LABELS)
