r"""Accuracy of glucose predictions: RMSE and the Clarke error grid.

The Clarke error grid (Clarke et al., Diabetes Care 10(5), 1987) places each (reference,
prediction) pair, both in mg/dL, in one of five zones by the treatment it would lead to:

* **A**: within 20% of the reference, or both in the hypoglycaemic range (< 70 mg/dL);
* **B**: off by more than 20%, but leading to benign or no treatment;
* **C**: overcorrecting acceptable glucose (prediction >= reference + 110 for a reference in
  70..290, or below ``7/5 * reference - 182`` for a reference in 130..180);
* **D**: failing to detect hypo- or hyperglycaemia (a reference >= 240 predicted in 70..180;
  a reference below 70 predicted in 70..180, above ``6/5 * reference`` where the reference
  lies in 175/3..70);
* **E**: confusing hypo- and hyperglycaemia (reference >= 180 predicted <= 70, or reference
  <= 70 predicted >= 180).

The zones are tested in the order A, E, C, D and anything else is B, the boundaries of the
original paper as the usual implementations draw them.

Example::

    >>> reference = np.array([100.0, 100.0, 100.0, 300.0, 250.0])
    >>> clarke_zones(reference, np.array([110.0, 140.0, 220.0, 150.0, 50.0]))
    array(['A', 'B', 'C', 'D', 'E'], dtype='<U1')
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

__all__ = ["ZONES", "clarke_shares", "clarke_zones", "mae", "plot_clarke", "rmse"]

#: the zones, from clinically accurate (A) to dangerous (E)
ZONES = ("A", "B", "C", "D", "E")
#: the grid's axes run 0..400 mg/dL
LIMIT = 400.0


def _pairs(reference: np.ndarray, prediction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference, dtype=np.float64)
    pred = np.asarray(prediction, dtype=np.float64)
    if ref.shape != pred.shape or ref.ndim != 1:
        raise ValueError(f"prediction: expected the shape of reference, (N,) = {ref.shape}, got {pred.shape}")
    if not (np.isfinite(ref).all() and np.isfinite(pred).all()):
        raise ValueError("reference, prediction: expected finite glucose values (mg/dL)")
    return ref, pred


def rmse(reference: np.ndarray, prediction: np.ndarray) -> float:
    """Root mean squared error (mg/dL) of ``prediction`` (N,) against ``reference`` (N,)."""
    ref, pred = _pairs(reference, prediction)
    return float(np.sqrt(np.mean((pred - ref) ** 2))) if len(ref) else float("nan")


def mae(reference: np.ndarray, prediction: np.ndarray) -> float:
    """Mean absolute error (mg/dL) of ``prediction`` (N,) against ``reference`` (N,)."""
    ref, pred = _pairs(reference, prediction)
    return float(np.mean(np.abs(pred - ref))) if len(ref) else float("nan")


def clarke_zones(reference: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """The Clarke zone (``"A"`` .. ``"E"``) of each pair (see the module docstring).

    Args:
        reference: (N,) the measured glucose, mg/dL.
        prediction: (N,) the predicted glucose, mg/dL.

    Returns:
        (N,) an array of one-letter strings.
    """
    r, p = _pairs(reference, prediction)
    zone_a = ((r <= 70) & (p <= 70)) | ((p <= 1.2 * r) & (p >= 0.8 * r))
    zone_e = ((r >= 180) & (p <= 70)) | ((r <= 70) & (p >= 180))
    zone_c = ((r >= 70) & (r <= 290) & (p >= r + 110)) | ((r >= 130) & (r <= 180) & (p <= 7 / 5 * r - 182))
    zone_d = (
        ((r >= 240) & (p >= 70) & (p <= 180))
        | ((r <= 175 / 3) & (p <= 180) & (p >= 70))
        | ((r >= 175 / 3) & (r <= 70) & (p >= 6 / 5 * r))
    )
    return np.select([zone_a, zone_e, zone_c, zone_d], ["A", "E", "C", "D"], default="B")


def clarke_shares(reference: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    """The percentage of pairs in each zone, and ``"A+B"`` (NaN for no pairs)."""
    zones = clarke_zones(reference, prediction)
    n = len(zones)
    shares = {z: 100.0 * float(np.sum(zones == z)) / n if n else float("nan") for z in ZONES}
    shares["A+B"] = shares["A"] + shares["B"]
    return shares


# The grid's boundary segments ((x0, x1), (y0, y1)) and where the zone letters go.
_LINES = (
    ((0, 175 / 3), (70, 70)),
    ((175 / 3, LIMIT / 1.2), (70, LIMIT)),
    ((70, 70), (84, LIMIT)),
    ((0, 70), (180, 180)),
    ((70, 290), (180, LIMIT)),
    ((70, 70), (0, 56)),
    ((70, LIMIT), (56, 320)),
    ((180, 180), (0, 70)),
    ((180, LIMIT), (70, 70)),
    ((240, 240), (70, 180)),
    ((240, LIMIT), (180, 180)),
    ((130, 180), (0, 70)),
)
_LABELS = (
    ("A", 30, 15),
    ("B", 370, 260),
    ("B", 280, 370),
    ("C", 160, 370),
    ("C", 160, 15),
    ("D", 30, 140),
    ("D", 370, 120),
    ("E", 30, 370),
    ("E", 370, 15),
)


def plot_clarke(
    panels: Mapping[str, tuple[np.ndarray, np.ndarray]], path: str | os.PathLike[str], *, title: str = ""
) -> None:
    """The Clarke grid of each model side by side, as a PNG.

    Args:
        panels: model name -> (reference (N,), prediction (N,)), mg/dL.
        path: the PNG to write (atomically).
        title: the figure's title.
    """
    from lstmkit.io.plots import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.8), squeeze=False)
    for ax, (name, (ref, pred)) in zip(axes[0], panels.items()):
        shares = clarke_shares(ref, pred)
        ax.scatter(ref, pred, s=3, alpha=0.25, color="#1f77b4", edgecolors="none")
        ax.plot([0, LIMIT], [0, LIMIT], ":", color="black", lw=0.8)
        for xs, ys in _LINES:
            ax.plot(xs, ys, "-", color="black", lw=0.9)
        for letter, x, y in _LABELS:
            ax.text(x, y, letter, fontsize=13, ha="center", va="center")
        ax.set(xlim=(0, LIMIT), ylim=(0, LIMIT), aspect="equal")
        ax.set_xlabel("reference CGM (mg/dL)")
        ax.set_ylabel("prediction (mg/dL)")
        ax.set_title(f"{name}: A {shares['A']:.1f}%, A+B {shares['A+B']:.1f}%", fontsize=10)
    if title:
        fig.suptitle(title)
    save_figure(fig, path)
