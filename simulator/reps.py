"""Simulated sales reps answering the follow-up tasks a client (the write-back) creates.

The owning rep completes such a task, the completion being the touch a call or an
email would be, `rep_follow_up_hours` business hours after it appeared, with
`rep_follow_up_probability`. Whether and when are drawn from the seed and the task's
Leadbridge key, so a retried or repeated write meets the same rep. The completion is
a timed change like the story's and shows once `advance_days` reaches it.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from simulator.config import SimulatorConfig

OPENS, CLOSES = 8, 18  # business hours, Monday to Friday, UTC (as story.business_time)
# Marks the rep's scheduled change, so a write that closes the task first can cancel it.
REP_CHANGE = "_rep"


def completion(config: SimulatorConfig, key: str, created: datetime) -> datetime | None:
    """When the owning rep completes the follow-up task `key`, or None if they never do."""
    draw = random.Random(f"{config.seed}:follow-up:{key}")
    if draw.random() >= config.rep_follow_up_probability:
        return None
    low, high = config.rep_follow_up_hours
    return plus_business_hours(created, draw.uniform(low, high))


def plus_business_hours(at: datetime, hours: float) -> datetime:
    """`hours` of working time after `at`, counting only Monday–Friday 08–18 UTC."""
    left = timedelta(hours=hours)
    start = _opening(at)
    while True:
        close = start.replace(hour=CLOSES, minute=0, second=0, microsecond=0)
        if start + left <= close:
            return start + left
        left -= close - start
        start = _opening(close)


def _opening(at: datetime) -> datetime:
    """`at` if the office is open then, else the next opening."""
    if at.weekday() < 5 and OPENS <= at.hour < CLOSES:
        return at
    day = at if at.hour < OPENS else at + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.replace(hour=OPENS, minute=0, second=0, microsecond=0)
