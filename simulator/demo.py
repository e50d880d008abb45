"""The demo: the built-in simulator standing in for HubSpot, Salesforce and a file drop.

The demo goes through exactly the code path real accounts use: the simulator serves
HubSpot- and Salesforce-shaped APIs on 127.0.0.1 and the connectors are only given
other URLs and tokens. The file drop gets one trade-show export written from the same
simulated company (some visitors known to the CRMs, in other letter case, some new).
"""

from __future__ import annotations

import contextlib
import csv
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from ingestion.pipelines import Connections
from simulator import SimulatedApis, SimulatorConfig
from simulator.model import World

TRADE_SHOW_FILE = "trade_show_revops_summit_2026.csv"
TRADE_SHOW_NAME = "RevOps Summit 2026"


def write_trade_show_export(world: World, drop_dir: Path) -> Path:
    """Write the demo trade-show export once; an unchanged file is not loaded again."""
    path = drop_dir / TRADE_SHOW_FILE
    if path.exists():
        return path
    drop_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(world.config.seed)
    visible = [p for p in world.people if p.email and p.arrival <= world.config.initial_as_of]
    visitors = visible[:: max(1, len(visible) // 25)]
    rows = []
    for person in visitors:
        email = person.email.upper() if rng.random() < 0.3 else person.email
        rows.append(
            [
                email,
                person.first,
                person.last,
                person.company.name,
                person.title,
                "visited_booth",
                person.arrival.date().isoformat(),
            ]
        )
    for n in range(5):  # people neither CRM knows yet
        rows.append(
            [
                f"visitor{n}@newco{n}.example",
                f"Visitor{n}",
                "Unknown",
                f"NewCo {n}",
                "",
                "visited_booth",
                world.config.anchor.isoformat(),
            ]
        )
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["Email", "First Name", "Last Name", "Company", "Job Title", "Status", "Date", "List"]
        )
        writer.writerows(row + [TRADE_SHOW_NAME] for row in rows)
    tmp.replace(path)  # never let the loader see half a file
    return path


@contextlib.contextmanager
def demo_connections(
    drop_dir: Path, *, seed: int, people: int, months: int, anchor: date
) -> Iterator[Connections]:
    """Serve the simulator while the block runs and yield the settings that point at it."""
    config = SimulatorConfig(seed=seed, people=people, months=months, anchor=anchor)
    with SimulatedApis.start(config) as sim:
        write_trade_show_export(sim.world, drop_dir)
        yield Connections(
            hubspot={"base_url": sim.hubspot_base_url, "access_token": sim.token},
            salesforce={"instance_url": sim.salesforce_instance_url, "access_token": sim.token},
            files={"drop_dir": str(drop_dir)},
        )
