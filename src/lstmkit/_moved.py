"""Old import paths, kept for one release: ``lstmkit.nn``, ``lstmkit.models``, ``lstmkit.engine``,
``lstmkit.train``, ``lstmkit.data`` and the other modules of the flat layout before the three
tiers (``docs/architecture.md``).

An import of an old path gives the module at its new path, with a ``DeprecationWarning``
naming it. An old package (``lstmkit.models``) is a thin module whose names come from the new
modules listed for it in :data:`PACKAGES`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
import warnings
from collections.abc import Sequence
from typing import Any

__all__ = ["MODULES", "PACKAGES", "install"]

#: old package -> the new modules its names come from (searched in order)
PACKAGES: dict[str, tuple[str, ...]] = {
    "lstmkit.cells": ("lstmkit.core.cells",),
    "lstmkit.engine": ("lstmkit.core.engines", "lstmkit.core.scan", "lstmkit.core.tree"),
    "lstmkit.nn": ("lstmkit.core.layers",),
    "lstmkit.train": ("lstmkit.fit",),
    "lstmkit.tune": ("lstmkit.fit.tune", "lstmkit.apps.experiments.tuning"),
    "lstmkit.baselines": ("lstmkit.apps.forecasting.baselines",),
    "lstmkit.data": (
        "lstmkit.apps.forecasting.data",
        "lstmkit.apps.forecasting.competitions",
        "lstmkit.apps.video.data",
    ),
    "lstmkit.models": (
        "lstmkit.apps.forecasting.estimator",
        "lstmkit.apps.forecasting.base",
        "lstmkit.apps.forecasting.combination",
        "lstmkit.apps.classification.estimator",
        "lstmkit.apps.anomaly.estimator",
        "lstmkit.apps.language.lm",
        "lstmkit.apps.language.seq2seq",
        "lstmkit.apps.language.text_classifier",
    ),
    "lstmkit.report": ("lstmkit.io.html",),
    "lstmkit.commands": (),
}

#: old module -> new module
MODULES: dict[str, str] = {
    "lstmkit.cells.activations": "lstmkit.core.cells.activations",
    "lstmkit.cells.lstm": "lstmkit.core.cells.lstm",
    "lstmkit.cells.gru": "lstmkit.core.cells.gru",
    "lstmkit.cells.rnn": "lstmkit.core.cells.rnn",
    "lstmkit.engine.runner": "lstmkit.core.scan",
    "lstmkit.engine.dispatch": "lstmkit.core.engines.select",
    "lstmkit.engine.native": "lstmkit.core.engines.native",
    "lstmkit.engine.fused": "lstmkit.core.engines.fused.binding",
    "lstmkit.engine.build": "lstmkit.core.engines.fused.build",
    "lstmkit.engine.stream": "lstmkit.core.engines.fused.stream",
    "lstmkit.nn._stacked": "lstmkit.core.layers.stacked",
    "lstmkit.nn.lstm": "lstmkit.core.layers.lstm",
    "lstmkit.nn.gru": "lstmkit.core.layers",
    "lstmkit.nn.recurrent": "lstmkit.core.layers.recurrent",
    "lstmkit.nn.regularizers": "lstmkit.core.regularizers",
    "lstmkit.nn.attention": "lstmkit.core.layers.attention",
    "lstmkit.train.trainer": "lstmkit.fit.trainer",
    "lstmkit.train.config": "lstmkit.fit.config",
    "lstmkit.train.losses": "lstmkit.fit.losses",
    "lstmkit.train.metrics": "lstmkit.fit.metrics",
    "lstmkit.train.optim": "lstmkit.fit.optim",
    "lstmkit.train.tbptt": "lstmkit.fit.tbptt",
    "lstmkit.train.checkpoint": "lstmkit.fit.checkpoint",
    "lstmkit.train.report": "lstmkit.fit.logs",
    "lstmkit.tune.search": "lstmkit.fit.tune.search",
    "lstmkit.tune.tasks": "lstmkit.apps.experiments.tuning",
    "lstmkit.data.augment": "lstmkit.fit.augment",
    "lstmkit.models._checks": "lstmkit.fit.estimator",
    "lstmkit.metrics": "lstmkit.fit.evaluation",
    "lstmkit.report.html": "lstmkit.io.html",
    "lstmkit.report.plots": "lstmkit.io.plots",
    "lstmkit.data.sources": "lstmkit.apps.datasets.sources",
    "lstmkit.commands.data": "lstmkit.apps.datasets.command",
    "lstmkit.data.timeseries": "lstmkit.apps.forecasting.data",
    "lstmkit.data.windows": "lstmkit.apps.forecasting.windows",
    "lstmkit.models.forecaster": "lstmkit.apps.forecasting.estimator",
    "lstmkit.models.forecast_base": "lstmkit.apps.forecasting.base",
    "lstmkit.baselines.naive": "lstmkit.apps.forecasting.baselines.naive",
    "lstmkit.baselines.statistical": "lstmkit.apps.forecasting.baselines.statistical",
    "lstmkit.commands.run": "lstmkit.apps.forecasting.commands.run",
    "lstmkit.commands.forecast": "lstmkit.apps.forecasting.commands.forecast",
    "lstmkit.models.classifier": "lstmkit.apps.classification.estimator",
    "lstmkit.commands.classify": "lstmkit.apps.classification.command",
    "lstmkit.models.anomaly": "lstmkit.apps.anomaly.estimator",
    "lstmkit.commands.detect": "lstmkit.apps.anomaly.command",
    "lstmkit.data.text": "lstmkit.apps.language.text",
    "lstmkit.data.corpora": "lstmkit.apps.language.corpora",
    "lstmkit.models.lm": "lstmkit.apps.language.lm",
    "lstmkit.models.seq2seq": "lstmkit.apps.language.seq2seq",
    "lstmkit.models.text_classifier": "lstmkit.apps.language.text_classifier",
    "lstmkit.baselines.ngram": "lstmkit.apps.language.ngram",
    "lstmkit.baselines.bow": "lstmkit.apps.language.bow",
    "lstmkit.baselines.dictionary": "lstmkit.apps.language.dictionary",
    "lstmkit.commands._nlp": "lstmkit.apps.language.commands.common",
    "lstmkit.commands.textgen": "lstmkit.apps.language.textgen",
    "lstmkit.commands.sentiment": "lstmkit.apps.language.sentiment",
    "lstmkit.commands.translate": "lstmkit.apps.language.translate",
    "lstmkit.data.synthetic": "lstmkit.apps.experiments.tasks",
    "lstmkit.commands.experiment": "lstmkit.apps.experiments.job",
    "lstmkit.commands.tune": "lstmkit.apps.experiments.commands.tune",
    "lstmkit.commands.demo": "lstmkit.apps.experiments.commands.demo",
}


def _warn(old: str, new: str) -> None:
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release: use {new}",
        DeprecationWarning,
        stacklevel=3,
    )


class _OldPackage(types.ModuleType):
    """An old package: its names are looked up in the new modules, its submodules in MODULES."""

    def __init__(self, name: str, sources: Sequence[str]) -> None:
        super().__init__(name, f"Deprecated alias; names come from {', '.join(sources) or 'submodules'}.")
        self.__path__: list[str] = []  # a package, so that ``import old.sub`` reaches the finder
        self._sources = tuple(sources)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        sub = f"{self.__name__}.{name}"
        if sub in MODULES or sub in PACKAGES:
            return importlib.import_module(sub)
        for source in self._sources:
            module = importlib.import_module(source)
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")


class _Loader(importlib.abc.Loader):
    def __init__(self, old: str) -> None:
        self.old = old

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        if self.old in PACKAGES:
            sources = PACKAGES[self.old]
            _warn(self.old, sources[0] if sources else "the modules under lstmkit.apps")
            return _OldPackage(self.old, sources)
        _warn(self.old, MODULES[self.old])
        return importlib.import_module(MODULES[self.old])

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname in MODULES or fullname in PACKAGES:
            return importlib.util.spec_from_loader(
                fullname, _Loader(fullname), is_package=fullname in PACKAGES
            )
        return None


def install() -> None:
    """Put the finder of old paths first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
