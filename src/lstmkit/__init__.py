"""lstmkit: Long Short-Term Memory networks, complete, correct, fast and practical.

The public API, re-exported here (``docs/architecture.md`` shows where each lives):

* the layers and their cells: :class:`LSTM`, :class:`ConvLSTM`, :class:`GRU`, :class:`RNN`,
  :class:`Recurrent`, :class:`Bidirectional`, :class:`LSTMSpec`, :data:`VARIANTS`,
  :class:`LSTMState`, the runner :func:`scan` (``lstmkit.run``, its former name, still works with
  a ``DeprecationWarning``) and :func:`detach_state` (``lstmkit.core``, importable with torch and numpy only);
* training: :class:`Trainer`, :class:`TrainConfig` (``lstmkit.fit``);
* the task models: :class:`Forecaster`, :class:`SequenceClassifier`, :class:`AnomalyDetector`,
  :class:`LanguageModel`, :class:`TextClassifier`, :class:`Seq2Seq` (``lstmkit.apps``), loaded on
  first use so that ``import lstmkit`` stays light.
"""

import warnings
from typing import TYPE_CHECKING

from lstmkit import _moved
from lstmkit.core.cells import VARIANTS, FGRState, LSTMSpec, LSTMState
from lstmkit.core.layers import GRU, LSTM, RNN, Bidirectional, ConvLSTM, GateTrace, Recurrent
from lstmkit.core.scan import scan
from lstmkit.core.tree import detach_state

if TYPE_CHECKING:
    from lstmkit.apps.anomaly.estimator import AnomalyDetector
    from lstmkit.apps.classification.estimator import SequenceClassifier
    from lstmkit.apps.forecasting.estimator import Forecaster
    from lstmkit.apps.language.lm import LanguageModel
    from lstmkit.apps.language.seq2seq import Seq2Seq
    from lstmkit.apps.language.text_classifier import TextClassifier
    from lstmkit.fit import TrainConfig, Trainer

__version__ = "0.1.0"

_moved.install()  # the old import paths (lstmkit.nn, lstmkit.models, ...) for one release

_LAZY = {
    "Forecaster": "lstmkit.apps.forecasting.estimator",
    "SequenceClassifier": "lstmkit.apps.classification.estimator",
    "AnomalyDetector": "lstmkit.apps.anomaly.estimator",
    "LanguageModel": "lstmkit.apps.language.lm",
    "TextClassifier": "lstmkit.apps.language.text_classifier",
    "Seq2Seq": "lstmkit.apps.language.seq2seq",
    "Trainer": "lstmkit.fit",
    "TrainConfig": "lstmkit.fit",
}


_warned_run = False


def __getattr__(name: str) -> object:
    # Task models and the trainer load on first use: the core needs torch and numpy only.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "run":  # the runner's former name, beside the `lstmkit run` command
        global _warned_run
        if not _warned_run:
            _warned_run = True
            warnings.warn(
                "lstmkit.run is deprecated and will be removed in the next release: use lstmkit.scan",
                DeprecationWarning,
                stacklevel=2,
            )
        return scan
    raise AttributeError(f"module 'lstmkit' has no attribute {name!r}")


__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "VARIANTS",
    "AnomalyDetector",
    "Bidirectional",
    "ConvLSTM",
    "FGRState",
    "Forecaster",
    "GateTrace",
    "LSTMSpec",
    "LSTMState",
    "LanguageModel",
    "Recurrent",
    "Seq2Seq",
    "SequenceClassifier",
    "TextClassifier",
    "TrainConfig",
    "Trainer",
    "__version__",
    "detach_state",
    "scan",
]
