"""The federated forecaster: lstmkit's global :class:`~lstmkit.apps.forecasting.estimator.Forecaster`
over clients that each hold one M3 domain's monthly series.

A model is a one-member Forecaster (the M3 study's monthly settings: a 24-month window, log
values, each window relative to its last value, the L1 loss) fitted on some clients' series;
a local update is :meth:`~lstmkit.fit.estimator.Estimator.start_from` the global weights (and
FedProx's term) and a fit of the local epochs. A client's score is the MASE of the model's
forecast of its series' official hold-out (the last 18 months), pooled over their points.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lstmkit.apps.federated.data import ForecastClient
from lstmkit.apps.federated.federation import from_arrays, proximal_term, to_arrays
from lstmkit.apps.forecasting.competitions import mase
from lstmkit.apps.forecasting.estimator import Forecaster

__all__ = ["SETTINGS", "ForecastTask"]

#: the Forecaster's settings (those of the M3 study's monthly LSTM, one member)
SETTINGS: dict[str, Any] = {
    "window": 24,
    "calendar": False,
    "likelihood": "point",
    "normalize": "last",
    "log": True,
    "hidden_size": 32,
    "dropout": 0.2,
    "patience": None,
    "refit": False,
    "ensemble": 1,
}


class ForecastTask:
    """The forecaster's :class:`~lstmkit.apps.federated.federation.Task`.

    Args:
        clients: who holds which series (:func:`~lstmkit.apps.federated.data.forecast_clients`).
        hidden_size, lr, batch_size: the Forecaster's (the rest: :data:`SETTINGS`).
        seed: the initial weights' and the shuffling's seed.
    """

    metric = "MASE"
    #: no validation months are held out: every fit trains its epochs and the last one counts
    selects = False

    def __init__(
        self,
        clients: Sequence[ForecastClient],
        *,
        hidden_size: int = 32,
        lr: float = 3e-3,
        batch_size: int | None = None,
        seed: int = 0,
    ) -> None:
        self.data = list(clients)
        self.clients = [c.name for c in self.data]
        horizons = {s.horizon for c in self.data for s in c.series}
        if len(horizons) != 1:
            raise ValueError(f"clients: expected one horizon for every series, got {sorted(horizons)}")
        self.horizon = horizons.pop()
        self.settings = {**SETTINGS, "hidden_size": hidden_size, "lr": lr, "batch_size": batch_size}
        self.seed = seed
        self._reference: Any = None

    def fit(
        self,
        clients: Sequence[int],
        weights: list[np.ndarray] | None,
        epochs: int,
        mu: float,
        round_number: int = 0,
        select: bool = False,
    ) -> tuple[Forecaster, int]:
        if select:
            raise ValueError("select: the forecaster's clients hold no validation months")
        series = [s.series() for k in clients for s in self.data[k].series]
        # the seed draws the initial weights (replaced by ``weights`` when given) and the data order
        seed = self.seed if weights is None else self.seed + round_number
        model = Forecaster(self.horizon, **self.settings, max_epochs=epochs, seed=seed, progress=False)
        if weights is not None:
            if self._reference is None:
                raise ValueError("weights: fit a model from the initial weights first (weights=None)")
            state = from_arrays(self._reference, weights)
            model.start_from(state, proximal_term(state, mu) if mu > 0 else None)
        model.fit(series)
        if self._reference is None:  # every model has this network's shapes (a fixed window)
            self._reference = model.nets_[0]
        return model, sum(len(s) for s in series)

    def weights(self, model: Forecaster) -> list[np.ndarray]:
        return to_arrays(model.nets_[0])

    def with_weights(self, model: Forecaster, weights: list[np.ndarray]) -> Forecaster:
        model.nets_[0].load_state_dict(from_arrays(model.nets_[0], weights))
        return model

    def score(self, model: Forecaster, client: int, split: str = "test") -> float:
        """MASE on ``client``'s hold-outs, pooled over every point (``split``: ``"test"`` only)."""
        if split != "test":
            raise ValueError(f"split: the forecaster's clients hold only 'test' data, got {split!r}")
        data = self.data[client].series
        forecasts = model.predict(series=[s.series() for s in data])
        assert isinstance(forecasts, list)
        points = [mase(s.test, f.point, s.train, s.period) for s, f in zip(data, forecasts)]
        return float(np.mean(np.concatenate(points)))
