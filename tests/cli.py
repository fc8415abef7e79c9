"""The CLI run in the test's own process, as a user would run it: exit code and output."""

from __future__ import annotations

from fastrank.cli.commands import main


def in_process(capsys, *args):
    """(exit code, stdout, stderr) of ``fastrank ARGS`` (argparse's own exits included)."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as done:
        code = done.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def refused(capsys, *args):
    """Assert ``fastrank ARGS`` exits 2 with one line on stderr, no traceback and nothing on
    stdout; that line."""
    code, out, err = in_process(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]
