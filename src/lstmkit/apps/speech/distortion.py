r"""Mel-cepstral distortion (MCD) between two utterances, aligned by dynamic time warping.

Cepstra are the front end's MFCCs (:mod:`lstmkit.apps.speech.features`: the orthonormal
DCT-II of the natural-log mel energies) c_1 .. c_12 (c_0, the energy, left out) of each
waveform's speech (silence at the ends cut by
:func:`~lstmkit.apps.speech.synthesis.speech_span`). With the DTW path P (steps (1, 0),
(0, 1), (1, 1), Euclidean frame cost) between the two frame sequences,

.. math::

    \mathrm{MCD} = \frac{1}{|P|} \sum_{(i, j) \in P} \frac{10}{\ln 10}
        \sqrt{2 \sum_{d=1}^{12} (c_{i,d} - c'_{j,d})^2} \quad \text{dB}.

These MFCCs are of the log *power* mel spectrum with an orthonormal DCT, not SPTK's
mel-cepstrum of the log amplitude spectrum, so values are comparable with each other, not
with published MCDs.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lstmkit.apps.speech.features import WINDOW, dct_matrix, log_mel, mel_filterbank
from lstmkit.apps.speech.synthesis import speech_span

__all__ = ["cepstra", "dtw_path", "mel_cepstral_distortion"]

N_MELS, N_CEPS = 40, 13


def cepstra(audio: np.ndarray) -> np.ndarray:
    """(S,) samples -> (T, 12) MFCCs c_1..c_12 of the speech frames."""
    x = torch.from_numpy(np.pad(np.asarray(audio, dtype=np.float32), (0, max(WINDOW - len(audio), 0))))
    mel = log_mel(x, mel_filterbank(N_MELS))
    start, end = speech_span(mel)
    return (mel[start:end] @ dct_matrix(N_CEPS, N_MELS).T)[:, 1:].double().numpy()


def dtw_path(a: np.ndarray, b: np.ndarray) -> list[tuple[int, int]]:
    """The least-cost monotone path from (0, 0) to (T_a - 1, T_b - 1) between (T_a, D) ``a``
    and (T_b, D) ``b`` under Euclidean frame distances."""
    cost = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))  # (T_a, T_b)
    acc = np.full((len(a) + 1, len(b) + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, len(a) + 1):
        row, prev = acc[i], acc[i - 1]
        for j in range(1, len(b) + 1):
            row[j] = cost[i - 1, j - 1] + min(prev[j - 1], prev[j], row[j - 1])
    i, j, path = len(a), len(b), []
    while i > 0 and j > 0:
        path.append((i - 1, j - 1))
        steps = ((acc[i - 1, j - 1], i - 1, j - 1), (acc[i - 1, j], i - 1, j), (acc[i, j - 1], i, j - 1))
        _, i, j = min(steps)
    return path[::-1]


def mel_cepstral_distortion(audio: np.ndarray, reference: np.ndarray) -> float:
    """MCD in dB of ``audio`` against ``reference`` (both (S,) at 16 kHz), DTW-aligned."""
    a, b = cepstra(audio), cepstra(reference)
    path = dtw_path(a, b)
    diff = np.stack([a[i] - b[j] for i, j in path])
    return float(np.mean(10.0 / math.log(10.0) * np.sqrt(2.0 * (diff**2).sum(-1))))
