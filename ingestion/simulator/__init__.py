"""Simulated HubSpot and Salesforce APIs: the demo and every test run against them.

`SimulatedApis.start(SimulatorConfig(...))` builds a deterministic world of one B2B
company's marketing and sales history and serves it on 127.0.0.1 with the real APIs'
paths, shapes, paging and errors, plus switches for the faults real APIs have.
Never imports dlt or dagster: it is a stand-in for the outside world.
"""

from ingestion.simulator.config import SimulatorConfig
from ingestion.simulator.server import RecordedRequest, SimulatedApis
from ingestion.simulator.world import World, build_world

__all__ = ["RecordedRequest", "SimulatedApis", "SimulatorConfig", "World", "build_world"]
