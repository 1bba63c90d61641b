"""Hyperparameter search (Optuna): :func:`tune` over a :class:`SearchSpace`, with pruning.

See :mod:`lstmkit.fit.tune.search` for the API, :func:`lstmkit.apps.experiments.tuning.synthetic_objective`
for an objective on the paper's tasks, and ``lstmkit tune --help`` for the command line.
"""

from lstmkit.fit.tune.search import PRUNERS, SearchSpace, TrialReporter, TuneResult, tune

__all__ = ["PRUNERS", "SearchSpace", "TrialReporter", "TuneResult", "tune"]
