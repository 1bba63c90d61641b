"""Hyperparameter search (Optuna): :func:`tune` over a :class:`SearchSpace`, with pruning.

See :mod:`lstmkit.tune.search` for the API and ``lstmkit tune --help`` for the command line.
"""

from lstmkit.tune.search import PRUNERS, SearchSpace, TrialReporter, TuneResult, tune
from lstmkit.tune.tasks import synthetic_objective

__all__ = ["PRUNERS", "SearchSpace", "TrialReporter", "TuneResult", "synthetic_objective", "tune"]
