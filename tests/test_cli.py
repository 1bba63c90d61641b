"""Every command and subcommand of the CLI: ``--help`` renders, and every option is explained."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from lstmkit.cli import build_parser, main


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def _parser_at(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


COMMANDS = list(_parsers(build_parser()))


def test_every_command_is_listed() -> None:
    top = {p[0] for p in COMMANDS if p}
    assert {"run", "data", "forecast", "classify", "detect", "experiment", "tune"} <= top
    assert {"textgen", "sentiment", "translate"} <= top


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "lstmkit")
def test_help_renders_and_documents_every_option(path: tuple[str, ...], capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*path, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: lstmkit")
    assert "%%" not in text, "a literal %% in the help: descriptions are not %-formatted"
    for action in _parser_at(path)._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, f"lstmkit {' '.join(path)} {action.option_strings} has no help"
            assert action.option_strings[0] in text
