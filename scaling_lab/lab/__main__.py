"""``python -m scaling_lab.lab``: the same as ``python -m scaling_lab lab``."""

import sys

from .cli import main

sys.exit(main())
