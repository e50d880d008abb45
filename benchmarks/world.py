"""The simulated company at benchmark size, and the one deviation from the demo's world.

Above about 4,500 people two of the simulator's 60 campaigns can share a name, and so a
HubSpot utm slug; a form submission then touches both, `campaign_touch_id` repeats and
`dbt build` stops. The benchmark makes repeated slugs unique (`-2`, `-3` in creation
order) so that the warehouse can be measured, and records the deviation in its JSON
(benchmarks/README.md, "What runs").
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
