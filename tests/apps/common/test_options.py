"""The shared command options and the config of a job from parsed options."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from lstmkit.apps.common import options as opt


@dataclass(frozen=True)
class Config:
    dataset: str = "a"
    epochs: int = 1
    progress: bool = True
    echo: bool = False


def parser() -> argparse.ArgumentParser:
    sub = argparse.ArgumentParser(prog="lstmkit").add_subparsers()
    p = opt.add_command(sub, "demo", "a demo", "A demo.")
    p.add_argument("--dataset", default="b")
    opt.add_device_arg(p)
    opt.add_seed_arg(p)
    opt.add_output_args(p, out_help="parent folder")
    opt.add_progress_arg(p)
    return p


def test_the_shared_options_parse() -> None:
    args = parser().parse_args(["--overwrite", "--no-progress", "--seed", "3"])
    assert (args.device, args.seed, args.out, args.overwrite, args.no_progress) == (
        "cpu",
        3,
        "runs",
        True,
        True,
    )


def test_config_from_args_takes_values_then_options_then_defaults() -> None:
    args = parser().parse_args(["--no-progress"])
    config = opt.config_from_args(Config, args, {"echo": True})
    assert config == Config(dataset="b", epochs=1, progress=False, echo=True)


def test_comma_list_and_pick() -> None:
    assert opt.comma_list(" a, b,, c ,") == ["a", "b", "c"]
    assert opt.pick(argparse.Namespace(x=1, y=2, z=3), "x", "z") == {"x": 1, "z": 3}
    assert opt.pick(Config(dataset="b"), "epochs", "dataset") == {"epochs": Config.epochs, "dataset": "b"}
