"""The simulated company at benchmark size, and the one deviation from the demo's world.

Above ~4,500 people the simulator creates its maximum of 60 campaigns, and for nearly
every seed two of them get the same name and so the same HubSpot `hs_utm` slug (seed 42:
one pair; seeds 40–59: one to eight pairs). A form submission carrying that slug then
touches both campaigns, `int_marketing__campaign_touches` yields the same
`campaign_touch_id` twice, its `unique` test fails and the nightly run stops at
`dbt build` (no marts, nothing published). That is a product finding (reported in the
benchmark's JSON under `world.deviation`), not something a benchmark should hide or fix:
so that the warehouse stages can be measured at all, the benchmark builds its worlds
with the repeated slugs made unique (`-2`, `-3` appended in creation order). Names,
ids and everything else are untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date

from simulator import SimulatorConfig, World, build_world
from simulator import world as world_module

ANCHOR = date(2026, 10, 31)  # a Saturday: see benchmarks.scale for the days advanced
MONTHS = 6


@contextlib.contextmanager
def _unique_slugs() -> Iterator[list[str]]:
    """Patch the simulator's slug function to number repeats; yield the repeats seen."""
    original = world_module._slug
    seen: dict[str, int] = {}
    repeats: list[str] = []

    def unique_slug(text: str) -> str:
        slug = original(text)
        seen[slug] = seen.get(slug, 0) + 1
        if seen[slug] == 1:
            return slug
        repeats.append(slug)
        return f"{slug}-{seen[slug]}"

    world_module._slug = unique_slug
    try:
        yield repeats
    finally:
        world_module._slug = original


def build_bench_world(seed: int, people: int) -> tuple[World, dict[str, object]]:
    """The deterministic world of one scale and a record of the deviation applied."""
    config = SimulatorConfig(seed=seed, people=people, months=MONTHS, anchor=ANCHOR)
    with _unique_slugs() as repeats:
        world = build_world(config)
    deviation = {
        "repeated_campaign_slugs_renamed": sorted(set(repeats)),
        "why": "duplicate hs_utm makes int_marketing__campaign_touches.campaign_touch_id "
        "non-unique and fails dbt build (see benchmarks/world.py)",
    }
    return world, deviation
