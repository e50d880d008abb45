"""`python -m preview`: see preview.run."""

import sys

from preview.run import main

sys.exit(main())
