"""`make contract-check` / `python -m orchestration.contract`: validate the lead contract
(the checks live in leadbridge.contract)."""

import sys

from leadbridge.contract import main

if __name__ == "__main__":
    sys.exit(main())
