"""``python -m scalinglab …``: see :mod:`scalinglab.cli`."""

import sys

from .cli import main

sys.exit(main())
