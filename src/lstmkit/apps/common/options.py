"""The command-line options that every ``lstmkit`` command shares.

A command module builds its parser with :func:`add_command` and these helpers, so that an
option means the same and reads the same in every command; :func:`config_from_args` and
:func:`pick` turn the parsed options into a job's settings (and a job passes the settings
that a function takes under the same names on with :func:`pick`).

Example::

    >>> import argparse
    >>> sub = argparse.ArgumentParser(prog="lstmkit").add_subparsers()
    >>> p = add_command(sub, "demo", "a demo", "A demo.")
    >>> add_device_arg(p)
    >>> add_output_args(p, out_help="parent folder of the report (default runs)")
    >>> p.parse_args(["--overwrite"]).out
    'runs'
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from lstmkit.io.runfolder import OVERWRITE_HELP

T = TypeVar("T")

__all__ = [
    "DEVICE_HELP",
    "add_command",
    "add_device_arg",
    "add_output_args",
    "add_progress_arg",
    "add_seed_arg",
    "comma_list",
    "config_from_args",
    "pick",
]

#: ``--help`` of ``--device``.
DEVICE_HELP = "cpu, cuda, cuda:N, mps or auto (default cpu)"


def add_command(
    sub: argparse._SubParsersAction,
    name: str,
    help: str,
    description: str,
    func: Callable[[argparse.Namespace], int] | None = None,
    *,
    defaults_in_help: bool = False,
) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` to ``sub`` and return its parser.

    Args:
        sub: the subparsers of ``lstmkit`` (or of a command with subcommands).
        name: the command's name (``lstmkit NAME``).
        help: one line for the list of commands.
        description: the paragraph of ``lstmkit NAME --help``.
        func: what the command runs (``args -> exit status``), stored as ``func``.
        defaults_in_help: append each option's default to its help.
    """
    formatter = argparse.ArgumentDefaultsHelpFormatter if defaults_in_help else argparse.HelpFormatter
    p = sub.add_parser(name, help=help, description=description, formatter_class=formatter)
    if func is not None:
        p.set_defaults(func=func)
    return p


def add_output_args(
    p: argparse.ArgumentParser | argparse._ArgumentGroup,
    *,
    out_help: str,
    out_default: str | None = "runs",
) -> None:
    """``--out`` (the parent folder of the run folder) and ``--overwrite``."""
    p.add_argument("--out", default=out_default, help=out_help)
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)


def add_device_arg(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--device`` (default cpu)."""
    p.add_argument("--device", default="cpu", help=DEVICE_HELP)


def add_seed_arg(
    p: argparse.ArgumentParser | argparse._ArgumentGroup, *, help: str = "seed (default 0)"
) -> None:
    """``--seed`` (an int, default 0)."""
    p.add_argument("--seed", type=int, default=0, help=help)


def add_progress_arg(
    p: argparse.ArgumentParser | argparse._ArgumentGroup, *, help: str = "no progress bars"
) -> None:
    """``--no-progress``: no progress bars on stderr."""
    p.add_argument("--no-progress", action="store_true", help=help)


def comma_list(text: str) -> list[str]:
    """The non-empty, stripped items of a comma-separated option (``"a, b,"`` -> ``["a", "b"]``)."""
    return [c.strip() for c in text.split(",") if c.strip()]


def config_from_args(cls: type[T], args: argparse.Namespace, values: Mapping[str, Any] | None = None) -> T:
    """The job config ``cls`` (a dataclass) of the parsed ``args``: each field takes its value
    from ``values``, else from the option of the same name, else ``progress`` is the opposite
    of ``--no-progress``; a field with none of them keeps its default.

    Example::

        >>> config = config_from_args(ClassifyJobConfig, args, {"shuffle": not args.no_shuffle, "echo": True})
    """
    values = dict(values or {})
    parsed = vars(args)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init or f.name in values:
            continue
        if f.name in parsed:
            values[f.name] = parsed[f.name]
        elif f.name == "progress" and "no_progress" in parsed:
            values[f.name] = not parsed["no_progress"]
    return cls(**values)


def pick(args: object, *names: str) -> dict[str, Any]:
    """The attributes ``names`` of ``args`` as a dict (``pick(args, "lr", "seed")``): parsed
    options, or a job's settings that a function takes under the same names."""
    return {name: getattr(args, name) for name in names}
