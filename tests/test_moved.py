"""The old import paths (the flat layout before core/fit/io/apps) work for one release, each with
a DeprecationWarning naming the new path, and give the very objects of the new modules."""

from __future__ import annotations

import importlib
import sys

import pytest

import lstmkit
from lstmkit import _moved


def fresh(name: str):
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]
    return importlib.import_module(name)


@pytest.mark.parametrize("old", sorted(_moved.MODULES))
def test_every_old_module_is_its_new_module(old: str) -> None:
    with pytest.warns(DeprecationWarning, match=f"{old} is deprecated.*use {_moved.MODULES[old]}"):
        module = fresh(old)
    assert module is importlib.import_module(_moved.MODULES[old])


@pytest.mark.parametrize(
    ("old", "name", "new"),
    [
        ("lstmkit.nn", "LSTM", "lstmkit.core.layers"),
        ("lstmkit.cells", "LSTMSpec", "lstmkit.core.cells"),
        ("lstmkit.engine", "run", "lstmkit.core.scan"),
        ("lstmkit.train", "Trainer", "lstmkit.fit"),
        ("lstmkit.tune", "synthetic_objective", "lstmkit.apps.experiments.tuning"),
        ("lstmkit.data", "from_csv", "lstmkit.apps.forecasting.data"),
        ("lstmkit.models", "SequenceClassifier", "lstmkit.apps.classification.estimator"),
        ("lstmkit.models", "LanguageModel", "lstmkit.apps.language.lm"),
        ("lstmkit.baselines", "make_baseline", "lstmkit.apps.forecasting.baselines"),
    ],
)
def test_old_packages_re_export_their_names(old: str, name: str, new: str) -> None:
    with pytest.warns(DeprecationWarning, match=f"{old} is deprecated"):
        package = fresh(old)
    assert getattr(package, name) is getattr(importlib.import_module(new), name)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        package.nope  # noqa: B018


def test_submodules_of_old_packages_by_attribute() -> None:
    with pytest.warns(DeprecationWarning):
        data = fresh("lstmkit.data")
        sources = data.sources
    assert sources is importlib.import_module("lstmkit.apps.datasets.sources")


def test_the_public_api_needs_no_old_path() -> None:
    for name in lstmkit.__all__:
        assert getattr(lstmkit, name) is not None
    assert lstmkit.SequenceClassifier.__module__ == "lstmkit.apps.classification.estimator"
