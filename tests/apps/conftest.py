"""Tiny model files of two kinds, built fast (the deploy and serve tests use them): a forecaster
ensemble of two members trained for one epoch, and a character language model built untrained
and saved as ``textgen`` saves it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lstmkit.apps.forecasting.estimator import Forecaster
from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.apps.language.bundle import save_bundle
from lstmkit.apps.language.lm import LanguageModel
from lstmkit.apps.language.tokenizers import CharTokenizer

TEXT = "in the beginning god created the heaven and the earth. " * 40


_T = np.arange(60)
SERIES = TimeSeries(
    10 + np.sin(2 * np.pi * _T / 12) + 0.05 * _T,
    pd.date_range("2000-01-01", periods=60, freq="MS"),
    name="toy",
)


@pytest.fixture(scope="session")
def forecaster_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = Forecaster(horizon=4, window=8, hidden_size=8, ensemble=2, max_epochs=1, progress=False)
    model.fit(SERIES)
    path = tmp_path_factory.mktemp("forecaster") / "model.pt"
    model.save(path)
    return path


@pytest.fixture(scope="session")
def lm_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tokenizer = CharTokenizer().fit([TEXT])
    torch.manual_seed(0)
    lm = LanguageModel(len(tokenizer), embed_dim=8, hidden_size=12, num_layers=1).eval()
    path = tmp_path_factory.mktemp("lm") / "model.pt"
    save_bundle(path, kind="lm", model=lm, tokenizers={"text": tokenizer}, extra={"corpus": "toy"})
    return path
