"""The ``lstmkit`` command line: ``lstmkit COMMAND --help`` for each command.

Conventions: results go to stdout, logs and progress to stderr, a non-zero exit status on
failure. Each command lives in a module of :mod:`lstmkit.commands` that defines
``register(subparsers)``; the parser calls the function stored as ``func`` on the namespace.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]

# Modules of lstmkit.commands, in the order ``lstmkit --help`` lists them.
COMMAND_MODULES = (
    "run",
    "data",
    "forecast",
    "classify",
    "detect",
    "demo",
    "textgen",
    "sentiment",
    "translate",
    "experiment",
    "tune",
)

log = logging.getLogger("lstmkit")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lstmkit",
        description="lstmkit: LSTM networks, every variant, trained and evaluated on real data.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"lstmkit.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # the reader went away (`lstmkit data list | head -1`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ValueError, TypeError, OSError, ImportError) as exc:  # OSError: paths, permissions
        log.error("%s", exc)
        return 1
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
