"""The simulated reps' timing: business hours only, and the same answer for the same
follow-up key and seed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from simulator import SimulatorConfig
from simulator.reps import completion, plus_business_hours

pytestmark = pytest.mark.unit
CONFIG = SimulatorConfig(people=10, rep_follow_up_probability=0.5)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (datetime(2026, 10, 28, 9, 0, tzinfo=UTC), 2, datetime(2026, 10, 28, 11, 0, tzinfo=UTC)),
        # an evening task waits for the next morning
        (
            datetime(2026, 10, 28, 23, 59, 59, tzinfo=UTC),
            1.5,
            datetime(2026, 10, 29, 9, 30, tzinfo=UTC),
        ),
        # the day's rest counts, the remainder runs into the next working day
        (datetime(2026, 10, 29, 16, 0, tzinfo=UTC), 5, datetime(2026, 10, 30, 11, 0, tzinfo=UTC)),
        # Friday afternoon runs into Monday
        (datetime(2026, 10, 30, 17, 0, tzinfo=UTC), 3, datetime(2026, 11, 2, 10, 0, tzinfo=UTC)),
        # a weekend task starts on Monday morning
        (datetime(2026, 10, 31, 12, 0, tzinfo=UTC), 1, datetime(2026, 11, 2, 9, 0, tzinfo=UTC)),
    ],
)
def test_business_hours_skip_nights_and_weekends(start, hours, expected):
    assert plus_business_hours(start, hours) == expected


def test_a_completion_is_decided_by_seed_and_key_alone():
    created = datetime(2026, 10, 28, 12, 0, tzinfo=UTC)
    answers = {key: completion(CONFIG, key, created) for key in map(str, range(200))}
    assert answers == {key: completion(CONFIG, key, created) for key in answers}
    done = [a for a in answers.values() if a is not None]
    assert 60 < len(done) < 140  # about half at probability 0.5
    low, high = CONFIG.rep_follow_up_hours
    assert all(
        plus_business_hours(created, low) <= a <= plus_business_hours(created, high) for a in done
    )
    other_seed = replace(CONFIG, seed=CONFIG.seed + 1)
    assert answers != {key: completion(other_seed, key, created) for key in answers}


@pytest.mark.parametrize(("probability", "expected"), [(0.0, 0), (1.0, 50)])
def test_probability_zero_and_one_are_never_and_always(probability, expected):
    config = replace(CONFIG, rep_follow_up_probability=probability)
    created = datetime(2026, 10, 28, 12, 0, tzinfo=UTC)
    assert sum(completion(config, str(k), created) is not None for k in range(50)) == expected
