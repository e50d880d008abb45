"""`make activate` / `python -m activation`: print tonight's plan of CRM writes.

The plan is for the publication in place: the working marts must be what it holds (or
the plan is refused). It is printed, not recorded: the nightly run records its own.
`--apply` (`make activate APPLY=1`) is for the writers, which are not built yet: it says
so and exits 2. Exit codes: 0 a plan, 1 a refused plan, 2 not possible.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from activation.plan import Night, plan
from leadbridge.engine import Engine
from leadbridge.paths import published_path, warehouse_path
from leadbridge.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    """Print the plan; the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m activation",
        description="Show the writes that bring Salesforce and HubSpot to the desired state.",
    )
    parser.add_argument("--apply", action="store_true", help="write the plan (not built yet)")
    args = parser.parse_args(argv)
    if args.apply:
        print(
            "applying is not built yet: the CRM writers come in a later change; nothing was "
            "written. `make activate` shows the plan.",
            file=sys.stderr,
        )
        return 2
    settings = Settings.from_env()
    warehouse = warehouse_path()
    try:
        engine = Engine.resolve(warehouse)
        planned = plan(engine, settings, Night(None, published_path(warehouse)))
    except ValueError as error:  # a mistyped setting names itself
        print(f"activation: {error}", file=sys.stderr)
        return 2
    print(planned.summary().text())
    return 1 if planned.aborted else 0


if __name__ == "__main__":
    sys.exit(main())
