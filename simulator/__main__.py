"""Run the simulator in the foreground: `python -m simulator --port 8765`."""

from __future__ import annotations

import argparse
import signal
import time
from datetime import date

from simulator.config import SimulatorConfig
from simulator.server import SimulatedApis


def main(argv: list[str] | None = None) -> None:
    """Parse options, start the simulator and serve until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m simulator",
                                     description="Serve simulated HubSpot and Salesforce APIs.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--anchor", type=date.fromisoformat, default=date(2026, 10, 31))
    parser.add_argument("--horizon-days", type=int, default=30)
    parser.add_argument("--token", default="demo-token")
    args = parser.parse_args(argv)
    config = SimulatorConfig(seed=args.seed, people=args.people, months=args.months,
                             anchor=args.anchor, horizon_days=args.horizon_days,
                             token=args.token)
    started = time.monotonic()
    sim = SimulatedApis.start(config, host=args.host, port=args.port)
    print(f"world of {config.people} people built in {time.monotonic() - started:.1f}s; "
          f"as of {sim.as_of.isoformat()}")
    print(f"HubSpot base URL:        {sim.hubspot_base_url}")
    print(f"Salesforce instance URL: {sim.salesforce_instance_url}")
    print(f"Bearer token:            {sim.token}")
    print("Ctrl-C to stop.", flush=True)
    # Ignored and blocked signals are inherited: a background shell ignores SIGINT, and a
    # test worker was seen ignoring SIGTERM. Stop on either, whoever started us.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
