"""The ``lstmkit`` command line: ``lstmkit COMMAND --help`` for each command.

Conventions: results go to stdout, logs and progress to stderr, a non-zero exit status on
failure. SIGTERM is handled as Ctrl-C (SIGINT): unfinished run folders and temporary files are
removed on the way out, and the exit status is 128 + the signal's number.

Each command lives in its app's ``command`` module (``lstmkit.apps.<task>.command`` or
``.commands.<verb>``), which defines ``register(subparsers)`` and only parses arguments; the
parser calls the function stored as ``func`` on the namespace, which runs the app's job.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

__all__ = ["Terminated", "build_parser", "main"]

# The command modules, in the order ``lstmkit --help`` lists them.
COMMAND_MODULES = (
    "lstmkit.apps.forecasting.commands.run",
    "lstmkit.apps.datasets.command",
    "lstmkit.apps.forecasting.commands.forecast",
    "lstmkit.apps.classification.command",
    "lstmkit.apps.anomaly.command",
    "lstmkit.apps.glucose.command",
    "lstmkit.apps.video.command",
    "lstmkit.apps.speech.command",
    "lstmkit.apps.music.command",
    "lstmkit.apps.experiments.commands.demo",
    "lstmkit.apps.language.commands.textgen",
    "lstmkit.apps.language.commands.sentiment",
    "lstmkit.apps.language.commands.translate",
    "lstmkit.apps.experiments.commands.experiment",
    "lstmkit.apps.experiments.commands.tune",
    "lstmkit.apps.compare.command",
    "lstmkit.apps.deploy.command",
    "lstmkit.apps.explain.command",
    "lstmkit.apps.serve.command",
    "lstmkit.apps.federated.command",
)

log = logging.getLogger("lstmkit")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that it unwinds as on Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def _recover_default_runs() -> None:
    """Restore or clean what runs killed mid-swap left in ``./runs`` (see lstmkit.io.runfolder)."""
    if os.path.isdir("runs"):
        from lstmkit.io.runfolder import recover_run_folders

        try:
            recover_run_folders("runs")
        except OSError as exc:  # a read-only or odd folder must not stop the command
            log.warning("runs: could not check for interrupted runs (%s)", exc)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lstmkit",
        description="lstmkit: LSTM networks, every variant, trained and evaluated on real data.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # a command may run itself again
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main_thread else None
    try:
        _recover_default_runs()
        return int(args.func(args) or 0)
    except BrokenPipeError:  # the reader went away (`lstmkit data list | head -1`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ValueError, TypeError, OSError, ImportError) as exc:  # OSError: paths, permissions
        log.error("%s", exc)
        return 1
    except Terminated:
        log.error("terminated")
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
