"""``python -m fastrank``: argument parsing and printing only (:mod:`fastrank.cli.commands`), flags to
option records and back (:mod:`fastrank.cli.flags`), the printed tables (:mod:`fastrank.cli.report`)."""

from .commands import main

__all__ = ["main"]
