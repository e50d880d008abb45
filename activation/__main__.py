"""`make activate` / `python -m activation`: tonight's plan of CRM writes, or its apply.

The plan is for the publication in place: the working marts must be what it holds (or
the plan is refused). `--apply` (`make activate APPLY=1`) sends the writes of the
systems set to `apply` (`LEADBRIDGE_ACTIVATE_<SYSTEM>`) to the accounts ingestion reads,
recording each in the ledger. Exit codes: 0 a plan, or an apply with every write done;
1 a refused plan, or an apply that failed or left writes unsent; 2 not possible.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from activation.apply import apply, applying
from activation.plan import Night, plan
from activation.writers import connect
from leadbridge.engine import Engine
from leadbridge.paths import published_path, warehouse_path
from leadbridge.settings import ACTIVATE_HUBSPOT, ACTIVATE_SALESFORCE, Settings


def main(argv: Sequence[str] | None = None) -> int:
    """Print the plan, or apply it; the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m activation",
        description="Show the writes that bring Salesforce and HubSpot to the desired state.",
    )
    parser.add_argument(
        "--apply", action="store_true", help="write the plan of the systems set to apply"
    )
    args = parser.parse_args(argv)
    warehouse = warehouse_path()
    night = Night(None, published_path(warehouse))
    try:
        settings = Settings.from_env()
        engine = Engine.resolve(warehouse)
        if not args.apply:
            planned = plan(engine, settings, night)
            print(planned.summary().text())
            return 1 if planned.aborted else 0
        systems = applying(settings.activation_modes)
        if not systems:
            print(
                f"nothing to apply: set {ACTIVATE_SALESFORCE.name}=apply and/or "
                f"{ACTIVATE_HUBSPOT.name}=apply for the systems to write to",
                file=sys.stderr,
            )
            return 2
        writers = connect(systems, settings.quota_share)
        applied = apply(engine, settings, night, writers)
    except ValueError as error:  # a mistyped setting or a missing account names itself
        print(f"activation: {error}", file=sys.stderr)
        return 2
    print(applied.plan.summary().text())
    print()
    print(applied.text())
    unsent = any(o.unsent or o.failed for o in applied.outcomes.values())
    return 1 if applied.refused or unsent else 0


if __name__ == "__main__":
    sys.exit(main())
