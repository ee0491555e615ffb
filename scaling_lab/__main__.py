"""``python -m scaling_lab``: the command line (see :mod:`scaling_lab.planner.cli`)."""

import sys

from .planner.cli import main

if __name__ == "__main__":
    sys.exit(main())
