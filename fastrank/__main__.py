"""``python -m fastrank``: see :mod:`fastrank.cli`."""

import sys

from .cli import main

sys.exit(main())
