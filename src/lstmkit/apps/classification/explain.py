r"""Which part of a series made the classifier decide: integrated gradients and occlusion over
its time steps (and channels) for the predicted class.

The explained output is the log-odds :math:`\log p - \log(1 - p)` of a class (the predicted
one unless told) under the ensemble's mean probabilities :math:`p`, as
:meth:`~lstmkit.apps.classification.estimator.SequenceClassifier.predict_proba` gives them
without test-time views (log-odds, as a probability near 1 hardly moves whatever the input).
Attributions are over the standardized series the networks read; the baseline is zeros, the
training mean of each channel. Padding past a sequence's length is zero in both, so it never
gets any attribution.

Shapes: N series, L steps, C channels, K classes.

Example::

    >>> clf = SequenceClassifier(max_epochs=100).fit(d.x_train, d.y_train)
    >>> ex = explain_classifier(clf, d.x_test[:4])
    >>> ex.integrated.shape, ex.max_gap < 0.01             # (N, L, C)
    >>> sections = ex.write("runs/gunpoint")
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from lstmkit.apps.classification.estimator import SequenceClassifier
from lstmkit.explain.attribution_plots import plot_heatmap, plot_series_attribution
from lstmkit.explain.attributions import (
    float64_copy,
    integrated_gradients,
    module_dtype,
    occlusion,
    relative_gap,
)
from lstmkit.io.html import metrics_table_html

__all__ = ["ClassifierExplanation", "explain_classifier"]


@dataclass(frozen=True)
class ClassifierExplanation:
    """Attributions of N series' class probabilities.

    Attributes:
        values: (N, L, C) the series as given (zero past each length).
        lengths: (N,) their lengths.
        target: (N,) the explained class of each; ``predicted`` (N,) the predicted one.
        probability: (N,) the explained class's probability ``p``.
        log_odds: (N,) the explained output, ``log p - log(1 - p)`` (it does not saturate where
            ``p`` is near 1 as ``p`` does).
        integrated: (N, L, C) integrated gradients of the log-odds.
        occlusion: (N, L, C) occlusion attributions (windows of ``window`` steps, all channels).
        gap: (N,) relative completeness gaps; ``baseline_output`` (N,) the log-odds at the
            baseline.
        classes: the class names (``None``: the indices).
    """

    values: np.ndarray
    lengths: np.ndarray
    target: np.ndarray
    predicted: np.ndarray
    probability: np.ndarray
    log_odds: np.ndarray
    integrated: np.ndarray
    occlusion: np.ndarray
    gap: np.ndarray
    baseline_output: np.ndarray
    window: int
    classes: list[str] | None = None

    @property
    def max_gap(self) -> float:
        """The largest relative completeness gap."""
        return float(self.gap.max())

    def step_attributions(self) -> np.ndarray:
        """(N, L) integrated gradients summed over channels."""
        return self.integrated.sum(2)

    def _name(self, k: int) -> str:
        return self.classes[k] if self.classes is not None else str(k)

    def metrics(self) -> dict[str, Any]:
        """Plain numbers for ``metrics.json``."""
        return {
            "max_relative_gap": self.max_gap,
            "target": [self._name(int(k)) for k in self.target],
            "probability": self.probability.tolist(),
        }

    def write(
        self, folder: str | os.PathLike[str], prefix: str = "classify_", *, limit: int = 4
    ) -> list[tuple[str, str]]:
        """Write a PNG per series (the first ``limit``) into ``folder`` and return the
        (heading, HTML) sections that show them."""
        images = [_plot_one(self, i, os.fspath(folder), prefix) for i in range(min(limit, len(self.target)))]
        rows = [
            {
                "series": i,
                "explained class": self._name(int(self.target[i])),
                "predicted": self._name(int(self.predicted[i])),
                "probability": float(self.probability[i]),
                "log-odds": float(self.log_odds[i]),
                "at baseline": float(self.baseline_output[i]),
                "gap %": 100 * float(self.gap[i]),
            }
            for i in range(len(self.target))
        ]
        columns = [
            "series",
            "explained class",
            "predicted",
            "probability",
            "log-odds",
            "at baseline",
            "gap %",
        ]
        body = (
            "<p>Integrated gradients and occlusion (windows of "
            f"{self.window} steps) of the class log-odds over the time steps of each series "
            "(red: raised it, blue: lowered it; zero baseline: the training mean).</p>"
            + metrics_table_html(rows, columns)
            + "".join(f"<img src='{name}'>" for name in images)
        )
        return [("Attributions: which part of the series decided the class", body)]


def _plot_one(ex: ClassifierExplanation, i: int, folder: str, prefix: str) -> str:
    """The picture of series ``i``: coloured by attribution (one channel) or heatmaps."""
    name = f"{prefix}attribution_{i}.png"
    n = int(ex.lengths[i])
    title = f"series {i}: class {ex._name(int(ex.target[i]))} (p = {ex.probability[i]:.3f})"
    if ex.values.shape[2] == 1:
        plot_series_attribution(
            ex.values[i, :n, 0],
            [
                ("integrated gradients", ex.integrated[i, :n, 0]),
                (f"occlusion ({ex.window} steps)", ex.occlusion[i, :n, 0]),
            ],
            os.path.join(folder, name),
            title=title,
        )
    else:
        plot_heatmap(
            ex.integrated[i, :n].T,
            os.path.join(folder, name),
            row_labels=[f"channel {c}" for c in range(ex.values.shape[2])],
            col_labels=[str(t) for t in range(n)],
            title=title + ": integrated gradients",
            xlabel="step",
        )
    return name


def log_odds_function(nets: Sequence[nn.Module]) -> Any:
    """``f(x, lengths)`` -> (N, K): the log-odds ``log p - log(1 - p)`` of each class under the
    ensemble's mean probabilities ``p``, computed from log-probabilities (no saturation)."""

    def f(x: Tensor, lengths: Tensor) -> Tensor:
        lsm = torch.stack([torch.log_softmax(net(x, lengths), -1) for net in nets])  # (M, N, K)
        k = lsm.shape[2]
        log_p = torch.logsumexp(lsm, 0)  # (N, K), log M left out of both terms
        others = lsm[:, :, None, :].expand(-1, -1, k, -1)  # (M, N, K_c, K_j)
        eye = torch.eye(k, dtype=torch.bool, device=lsm.device)
        others = others.masked_fill(eye, float("-inf"))
        log_rest = torch.logsumexp(others, dim=(0, 3))  # (N, K): log sum_{j != c} p_j (times M)
        return log_p - log_rest

    return f


def _inputs(clf: SequenceClassifier, x: Any, lengths: Any) -> tuple[Tensor, Tensor, Tensor]:
    """The raw (N, L, C) float32 series, the standardized ones and the lengths, cut to the
    longest training series for a shuffling LSTM-FCN (as predict_proba does)."""
    xt, lt = clf._arrays(x, lengths)
    longest = clf.meta_["max_length"]
    if clf.config.architecture == "lstm-fcn" and clf.config.shuffle and xt.shape[1] > longest:
        xt, lt = xt[:, :longest], lt.clamp(max=longest)
    return xt, clf._standardize(xt, lt), lt


def explain_classifier(
    classifier: SequenceClassifier,
    x: Any,
    lengths: Any = None,
    *,
    target: Any = None,
    n_steps: int = 128,
    tolerance: float = 0.005,
    window: int | None = None,
    classes: Sequence[str] | None = None,
) -> ClassifierExplanation:
    """Attribute the class probabilities of the series ``x`` to their time steps and channels.

    Args:
        classifier: a fitted :class:`~lstmkit.apps.classification.estimator.SequenceClassifier`.
        x, lengths: (N, L, C) or (N, L) series and optional lengths (N,), as ``predict``.
        target: (N,) class indices to explain (default: the predicted classes).
        n_steps, tolerance: integrated gradients' quadrature points and the relative
            completeness gap to refine them to
            (:func:`~lstmkit.explain.attributions.integrated_gradients`).
        window: occluded steps per window, all channels (default: a twentieth of the series).
        classes: the class names, for the report.

    Returns:
        a :class:`ClassifierExplanation`.
    """
    classifier._check_fitted("explain_classifier()")
    raw, xs, lt = _inputs(classifier, x, lengths)
    nets = [float64_copy(net) for net in classifier.nets_]
    dtype, dev = module_dtype(nets[0]), next(nets[0].parameters()).device
    xs, lt = xs.to(dev, dtype), lt.to(dev)
    f = log_odds_function(nets)
    with torch.no_grad():
        odds = f(xs, lt)  # (N, K)
    predicted = odds.argmax(1)
    tgt = predicted if target is None else torch.as_tensor(np.asarray(target), dtype=torch.long, device=dev)
    ig = integrated_gradients(f, xs, target=tgt, n_steps=n_steps, tolerance=tolerance, additional_args=(lt,))
    win = window if window is not None else max(1, xs.shape[1] // 20)
    occ = occlusion(f, xs, window=win, target=tgt, additional_args=(lt,))
    return ClassifierExplanation(
        values=raw.numpy(),
        lengths=lt.cpu().numpy(),
        target=tgt.cpu().numpy(),
        predicted=predicted.cpu().numpy(),
        probability=torch.sigmoid(ig.output).cpu().numpy(),
        integrated=ig.values.cpu().numpy(),
        occlusion=occ.cpu().numpy(),
        gap=relative_gap(ig).cpu().numpy(),
        log_odds=ig.output.cpu().numpy(),
        baseline_output=ig.baseline_output.cpu().numpy(),
        window=int(win),
        classes=None if classes is None else [str(c) for c in classes],
    )
