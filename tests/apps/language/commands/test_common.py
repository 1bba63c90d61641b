"""The language commands' shared parts: subcommands as jobs, the size and dropout options."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest

from lstmkit.apps.language.commands import common
from lstmkit.apps.language.training import TrainOptions


@dataclass(frozen=True)
class _Config:
    embed_dim: int
    model: dict
    training: TrainOptions
    echo: bool = False


def test_jobs_parse_their_options_and_run_their_job_with_its_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ran: list[_Config] = []

    def options(p: argparse.ArgumentParser) -> None:
        common.add_size_args(p, embed_dim=8, hidden_size=16, layers=2, width="width per direction")
        common.add_dropout_args(p, dropout=(0.5, "d"), embed_dropout=(0.2, "e"), input_dropout=(0.3, "i"))
        common.add_train_args(p, lr=1e-3, batch_size=4, epochs=2)

    def values(args: argparse.Namespace) -> dict:
        return common.train_values(args, common.size_values(args) | {"dropout": args.dropout})

    parser = argparse.ArgumentParser(prog="lstmkit")
    jobs = {"train": common.Job("train it", "Train it.", options, ran.append, _Config, values)}
    common.add_jobs(parser.add_subparsers(), "demo", "a demo", "A demo.", jobs)
    args = parser.parse_args(["demo", "train", "--layers", "3", "--dropout", "0.1", "--epochs", "5"])
    assert args.func(args) == 0
    config = ran[0]
    assert config.embed_dim == 8 and config.echo
    assert config.model == {"embed_dim": 8, "hidden_size": 16, "num_layers": 3, "dropout": 0.1}
    assert (config.training.lr, config.training.batch_size, config.training.epochs) == (1e-3, 4, 5)
    assert args.recurrent_dropout == 0.0 and args.input_dropout == 0.3
    with pytest.raises(SystemExit):
        parser.parse_args(["demo", "train", "--help"])
    assert "width per direction (default 16)" in " ".join(capsys.readouterr().out.split())
