"""``python -m codec``: see :mod:`codec.cli`."""

import sys

from .cli import main

sys.exit(main())
