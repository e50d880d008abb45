"""Simulated HubSpot and Salesforce APIs: the demo and every test run against them.

`SimulatedApis.start(SimulatorConfig(...))` builds a deterministic world of one B2B
company's marketing and sales history and serves it on 127.0.0.1 with the real APIs'
paths, shapes, paging and errors, plus switches for the faults real APIs have.
Never imports dagster, and only `demo.py` touches `ingestion` (the settings it hands
the connectors): the rest is a stand-in for the outside world.
"""

from simulator.config import SimulatorConfig
from simulator.model import World
from simulator.server import RecordedRequest, SimulatedApis
from simulator.world import build_world

__all__ = ["RecordedRequest", "SimulatedApis", "SimulatorConfig", "World", "build_world"]
