"""The LSTM variant study of Greff et al. (2017), "LSTM: A Search Space Odyssey", scaled down:
paired random-search trials of every variant on a few tasks, and their analysis.

The driver that loads the data, runs the trials and writes docs/greff.md is
``benchmarks/greff.py`` (``make bench-greff``).
"""

from lstmkit.apps.experiments.greff.analysis import PairedTest, clipped, main_effects, paired_test
from lstmkit.apps.experiments.greff.model import VariantNet
from lstmkit.apps.experiments.greff.space import HYPERPARAMETERS, Hyperparameters, SearchSpace, sample_trial
from lstmkit.apps.experiments.greff.tasks import (
    CharLMTask,
    ClassificationTask,
    GreffTask,
    NextStepTask,
    PianoRollTask,
)
from lstmkit.apps.experiments.greff.trial import TrialResult, run_trial

#: the paper's vanilla LSTM and its eight variants, in the paper's order
GREFF_VARIANTS = ("vanilla", "nig", "nfg", "nog", "niaf", "noaf", "np", "cifg", "fgr")

__all__ = [
    "GREFF_VARIANTS",
    "HYPERPARAMETERS",
    "CharLMTask",
    "ClassificationTask",
    "GreffTask",
    "Hyperparameters",
    "NextStepTask",
    "PairedTest",
    "PianoRollTask",
    "SearchSpace",
    "TrialResult",
    "VariantNet",
    "clipped",
    "main_effects",
    "paired_test",
    "run_trial",
    "sample_trial",
]
