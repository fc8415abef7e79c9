"""``python -m fastrank``: see :mod:`fastrank.cli.commands`."""

import sys

from .cli.commands import main

sys.exit(main())
