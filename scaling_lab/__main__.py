"""``python -m scaling_lab``: the command line (see :mod:`scaling_lab.planner.cli`)."""

import sys

from .planner.cli import main

if __name__ == "__main__":
    if sys.argv[1:2] == ["lab"]:  # python -m scaling_lab lab ... (see scaling_lab.lab.cli)
        from .lab.cli import main as lab_main

        sys.exit(lab_main(sys.argv[2:]))
    sys.exit(main())
