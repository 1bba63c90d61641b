"""The random search of Greff et al. (2017), Sec. 4: one hyperparameter draw per trial index.

The draw depends only on the task's name and the trial index, so trial ``k`` of every variant
uses the same hyperparameters and the same seed (a paired design).

Example::

    >>> a = sample_trial("vowels", 3)
    >>> a == sample_trial("vowels", 3), 16 <= a.hidden_size <= 128
    (True, True)
"""

from __future__ import annotations

import math
import zlib
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["HYPERPARAMETERS", "Hyperparameters", "SearchSpace", "sample_trial"]

#: the searched hyperparameters, in the order the analysis reports them
HYPERPARAMETERS = ("lr", "hidden_size", "momentum", "input_noise")


@dataclass(frozen=True)
class SearchSpace:
    """The ranges of the search.

    Args:
        lr: learning rate of SGD with momentum, log-uniform in this range.
        hidden_size: LSTM blocks, log-uniform in this range, rounded to an int.
        one_minus_momentum: 1 - momentum, log-uniform in this range (momentum in [0, 0.99]).
        input_noise: std of the Gaussian noise added to the inputs while training, uniform.
    """

    lr: tuple[float, float] = (1e-4, 1.0)
    hidden_size: tuple[int, int] = (16, 128)
    one_minus_momentum: tuple[float, float] = (0.01, 1.0)
    input_noise: tuple[float, float] = (0.0, 1.0)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Hyperparameters:
    """One trial's draw, and the seed of its initialization, batches and noise."""

    lr: float
    hidden_size: int
    momentum: float
    input_noise: float
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def sample_trial(task: str, trial: int, space: SearchSpace | None = None) -> Hyperparameters:
    """Trial ``trial``'s hyperparameters on ``task``: the same for every variant."""
    if isinstance(trial, bool) or not isinstance(trial, int) or trial < 0:
        raise ValueError(f"trial: expected an int >= 0, got {trial!r}")
    space = space or SearchSpace()
    seed = zlib.crc32(f"greff|{task}|{trial}".encode())
    rng = np.random.default_rng(seed)
    lr = _log_uniform(rng, *space.lr)
    low, high = space.hidden_size
    hidden = round(_log_uniform(rng, low, high + 0.5 - 1e-9))
    momentum = 1.0 - _log_uniform(rng, *space.one_minus_momentum)
    noise = float(rng.uniform(*space.input_noise))
    return Hyperparameters(lr, int(min(max(hidden, low), high)), momentum, noise, seed % (2**31))
