r"""Which samples made a stretch of a signal (an ECG beat) anomalous: integrated gradients of its
anomaly score over the samples the network read.

The explained output is the stretch's mean error before smoothing (what
:meth:`~lstmkit.apps.anomaly.estimator.AnomalyDetector.score` averages): for
``method="forecast"`` the one-step residuals of its samples (in units of the training
residuals), read after up to ``window`` samples of context; for ``"autoencoder"`` the
reconstruction error of one window. Attributions are over the downsampled, standardized signal
the network reads (zero baseline: the training mean, a flat signal) and are repeated back to
the original samples, divided by the downsampling factor so that they still sum to the score's
difference.

Shapes: T samples, C channels, W window (downsampled samples).

Example::

    >>> det = AnomalyDetector(downsample=4).fit(ecg.values[:4125], val=ecg.values[4125:5625])
    >>> ex = explain_detector(det, ecg.values[5625:])       # the most anomalous stretch
    >>> ex.max_gap < 0.01, ex.samples.shape, ex.attribution.shape
    >>> sections = ex.write("runs/mitdb")
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from lstmkit.apps.anomaly.estimator import AnomalyDetector, _as_signal
from lstmkit.explain.attribution_plots import plot_series_attribution
from lstmkit.explain.attributions import float64_copy, integrated_gradients, module_dtype, relative_gap

__all__ = ["DetectorExplanation", "explain_detector"]


@dataclass(frozen=True)
class DetectorExplanation:
    """Attributions of one stretch's anomaly score.

    Attributes:
        start, stop: the explained stretch ``[start, stop)`` in samples of the given signal.
        samples: (S,) the indices of the samples the network read (context and stretch).
        values: (S, C) those samples.
        attribution: (S, C) integrated gradients of the score (summing to ``score`` minus
            ``baseline_score`` within ``gap``).
        score, baseline_score: the stretch's mean error, at the signal and at the baseline.
        gap: the relative completeness gap.
    """

    start: int
    stop: int
    samples: np.ndarray
    values: np.ndarray
    attribution: np.ndarray
    score: float
    baseline_score: float
    gap: float

    @property
    def max_gap(self) -> float:
        return self.gap

    def metrics(self) -> dict[str, Any]:
        """Plain numbers for ``metrics.json``."""
        inside = (self.samples >= self.start) & (self.samples < self.stop)
        mag = np.abs(self.attribution).sum(1)
        return {
            "max_relative_gap": self.gap,
            "start": self.start,
            "stop": self.stop,
            "score": self.score,
            "share_inside": float(mag[inside].sum() / max(float(mag.sum()), 1e-300)),
        }

    def write(self, folder: str | os.PathLike[str], prefix: str = "detect_") -> list[tuple[str, str]]:
        """Write the PNG into ``folder`` and return the (heading, HTML) sections showing it."""
        name = f"{prefix}attribution.png"
        plot_series_attribution(
            self.values[:, 0],
            [("integrated gradients (channels summed)", self.attribution.sum(1))],
            os.path.join(os.fspath(folder), name),
            x=self.samples,
            title=f"samples {self.start}..{self.stop - 1}: anomaly score {self.score:.3g}",
        )
        m = self.metrics()
        body = (
            f"<p>Integrated gradients of the mean error of samples {self.start}..{self.stop - 1} "
            f"(score {self.score:.4g}; {self.baseline_score:.4g} for a flat signal at the training "
            f"mean) over the samples the network read; {100 * m['share_inside']:.1f}% of their "
            f"magnitude lies inside the stretch; completeness within {100 * self.gap:.3g}%.</p>"
            f"<img src='{name}'>"
        )
        return [("Attributions: which samples made the stretch anomalous", body)]


def score_function(det: AnomalyDetector, net: nn.Module, first: int) -> Any:
    """``f(x)`` (N, S', C) -> (N,): the mean error of the downsampled samples from ``first`` on
    (the forecast method) or of the whole window (the autoencoder)."""
    squared, var = det.config.error == "squared", det.resid_var_

    def f(x: Tensor) -> Tensor:
        if det.config.method == "forecast":
            pred, _ = net(x[:, :-1])
            diff = (pred - x[:, 1:])[:, first - 1 :]  # predictions of samples first, first+1, ...
            err = diff**2 if squared else diff.abs()
            assert var is not None
            err = err / torch.as_tensor(var, dtype=x.dtype, device=x.device)
        else:
            diff = net(x) - x
            err = diff**2 if squared else diff.abs()
        return err.mean((1, 2))

    return f


def _stretch(det: AnomalyDetector, raw: np.ndarray, start: int | None) -> tuple[int, int]:
    """The explained stretch in downsampled samples: ``[a, b)``."""
    cfg, k = det.config, det.config.downsample
    total = -(-len(raw) // k)
    n = cfg.window if cfg.method == "autoencoder" else max(1, cfg.window // 2)
    if total < n + (1 if cfg.method == "forecast" else 0):
        raise ValueError(f"values: {len(raw)} samples are too few for a stretch of {n * k} samples")
    if start is None:
        centre = int(np.argmax(det.score(raw))) // k
    else:
        if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or not 0 <= start < len(raw):
            raise ValueError(f"start: expected a sample index in [0, {len(raw)}), got {start!r}")
        centre = int(start) // k + n // 2
    a = min(max(centre - n // 2, 1 if cfg.method == "forecast" else 0), total - n)
    return a, a + n


def explain_detector(
    detector: AnomalyDetector,
    values: Any,
    *,
    start: int | None = None,
    n_steps: int = 128,
    tolerance: float = 0.005,
) -> DetectorExplanation:
    """Attribute the anomaly score of a stretch of ``values`` (T, C) to its samples.

    Args:
        detector: a fitted :class:`~lstmkit.apps.anomaly.estimator.AnomalyDetector`.
        values: (T,) or (T, C) the signal.
        start: the stretch's first sample (default: the stretch around the highest score). A
            stretch is half a window (forecast method) or one window (autoencoder), in samples
            of ``values`` (``window * downsample``).
        n_steps, tolerance: integrated gradients' quadrature points and the relative
            completeness gap to refine them to.

    Returns:
        a :class:`DetectorExplanation`.
    """
    detector._check_fitted("explain_detector()")
    cfg, k = detector.config, detector.config.downsample
    raw = _as_signal("values", values)
    a, b = _stretch(detector, raw, start)
    first = max(0, a - cfg.window) if cfg.method == "forecast" else a  # context read first
    xs = detector._scale(detector._reduce(raw))[first:b]  # (S', C)
    net = float64_copy(detector.nets_[0])
    dev = next(net.parameters()).device
    x = torch.as_tensor(xs[None], dtype=module_dtype(net), device=dev)
    f = score_function(detector, net, a - first)
    ig = integrated_gradients(f, x, n_steps=n_steps, tolerance=tolerance)
    samples = np.arange(first * k, min(b * k, len(raw)))
    attr = np.repeat(ig.values[0].cpu().numpy(), k, axis=0)[: len(samples)] / k
    return DetectorExplanation(
        start=a * k,
        stop=min(b * k, len(raw)),
        samples=samples,
        values=raw[samples],
        attribution=attr,
        score=float(ig.output[0]),
        baseline_score=float(ig.baseline_output[0]),
        gap=float(relative_gap(ig)[0]),
    )
