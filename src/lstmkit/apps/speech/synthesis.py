r"""The text side of digit synthesis: phonemes from espeak-ng's phonemizer, per-phoneme
durations learned from reference audio, and the frame-level inputs of the acoustic model.

**Phonemes.** ``espeak-ng -q -x --sep=_ -v VOICE "three one four"`` prints espeak-ng's ASCII
phoneme names separated by ``_`` (``T_r_'i: w_'V_n f_'o@``); :func:`phonemes` drops the
stress marks (``'`` and ``,``) and the word boundaries, so a digit string becomes a list of
phoneme names (``['T', 'r', 'i:', 'w', 'V', 'n', 'f', 'o@']``).

**Durations** (a proportional alignment, not a forced alignment). Each phoneme p has a mean
duration :math:`d_p` in frames, fitted by non-negative least squares to the speech length of
the training utterances, :math:`L_u \approx \sum_p n_{u,p} d_p`, with a small ridge
:math:`\lambda \sum_p (d_p - \bar d)^2` towards the corpus's mean frames per phoneme
:math:`\bar d` (:func:`fit_durations`; digit words always hold the same phonemes, so lengths
alone cannot split a word's time over its phonemes: the ridge splits it evenly;
:math:`n_{u,p}` counts p in utterance u; the speech is the utterance with its leading and
trailing silence cut, :func:`speech_span`). An utterance's frames are then split over its
phonemes in proportion to their :math:`d_p` (:func:`split_frames`). Nothing looks at the
audio inside the utterance, so the boundaries are only as good as the proportions.

**Inputs** (:func:`frame_inputs`): each frame is the one-hot code of its phoneme and its
position in the phoneme, :math:`(k + 0.5) / n` for frame k of n.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
from scipy.optimize import nnls
from torch import Tensor

from lstmkit.apps.speech.data import DIGIT_WORDS
from lstmkit.apps.speech.synth import find_espeak

__all__ = [
    "check_digits",
    "fit_durations",
    "frame_inputs",
    "phonemes",
    "speech_span",
    "split_frames",
]

#: weight (per utterance) of the pull of every phoneme's duration towards the corpus's mean
RIDGE = 1e-3
#: frames quieter than the loudest by more than this (natural log of power: 40 dB) are silence
SILENCE_DROP = 40 * np.log(10) / 10


def check_digits(text: str) -> str:
    """``text`` (``"3 1 4"``, ``"314"``) as a digit string ``"314"``; a one-line ``ValueError``
    naming ``digits`` for anything else."""
    digits = "".join(str(text).split())
    if not digits or not digits.isdigit() or not digits.isascii():
        raise ValueError(f"digits: expected digits 0-9 (spaces allowed), e.g. '3 1 4', got {text!r}")
    return digits


@lru_cache(maxsize=4096)
def phonemes(digits: str, voice: str) -> tuple[str, ...]:
    """espeak-ng's phonemes of the spoken digit string ``digits`` in ``voice`` (no stress marks).

    Args:
        digits: digits 0-9 (spaces ignored), e.g. ``"3 1 4"``.
        voice: an espeak-ng voice, e.g. ``"en-us+m3"`` (its accent decides the phonemes).
    """
    text = " ".join(DIGIT_WORDS[int(d)] for d in check_digits(digits))
    cmd = [find_espeak(), "-q", "-x", "--sep=_", "-v", voice, text]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise ValueError(f"voice: espeak-ng could not phonemize in {voice!r}: {done.stderr.strip()[:200]}")
    out = []
    for word in done.stdout.split():
        out += [p for p in word.replace("'", "").replace(",", "").split("_") if p]
    return tuple(out)


def speech_span(logmel: Tensor) -> tuple[int, int]:
    """[start, end) of the frames between the first and the last frame whose energy (log of
    the summed mel energies) is within :data:`SILENCE_DROP` of the loudest; (T, n_mels) in."""
    energy = torch.logsumexp(logmel, dim=1)  # (T,)
    loud = torch.nonzero(energy > energy.max() - SILENCE_DROP).flatten()
    return int(loud[0]), int(loud[-1]) + 1


def fit_durations(sequences: Sequence[Sequence[str]], frames: Sequence[float]) -> dict[str, float]:
    """Mean frames per phoneme by non-negative least squares of ``frames[u]`` (the speech
    length of utterance u) on the phoneme counts of ``sequences[u]``, with the ridge
    :data:`RIDGE` towards the mean frames per phoneme; a phoneme under 1 frame gets 1."""
    if len(sequences) != len(frames) or not sequences:
        raise ValueError(f"frames: expected one length per sequence ({len(sequences)}), got {len(frames)}")
    inventory = sorted({p for s in sequences for p in s})
    index = {p: i for i, p in enumerate(inventory)}
    counts = np.zeros((len(sequences), len(inventory)))
    for u, seq in enumerate(sequences):
        for p in seq:
            counts[u, index[p]] += 1
    lengths = np.asarray(frames, dtype=np.float64)
    uniform = lengths.sum() / counts.sum()  # frames per phoneme over the corpus
    ridge = np.sqrt(RIDGE * len(sequences)) * np.eye(len(inventory))
    d, _ = nnls(
        np.vstack([counts, ridge]), np.concatenate([lengths, ridge @ np.full(len(inventory), uniform)])
    )
    return {p: max(float(d[index[p]]), 1.0) for p in inventory}


def split_frames(seq: Sequence[str], total: int, durations: dict[str, float]) -> list[int]:
    """``total`` frames split over the phonemes ``seq`` in proportion to ``durations`` (largest
    remainders rounded up), each phoneme at least one frame when ``total`` allows."""
    want = np.array([durations[p] for p in seq])
    share = want / want.sum() * total
    n = np.floor(share).astype(int)
    for i in np.argsort(-(share - n))[: total - int(n.sum())]:
        n[i] += 1
    for i in np.flatnonzero(n == 0):  # take a frame from the longest phoneme
        j = int(np.argmax(n))
        if n[j] > 1:
            n[j] -= 1
            n[i] += 1
    return [int(v) for v in n]


def frame_inputs(seq: Sequence[str], counts: Sequence[int], inventory: Sequence[str]) -> Tensor:
    """(T, V + 1) inputs, T = sum(counts): the one-hot phoneme (V = len(inventory)) and the
    position in the phoneme; a phoneme not in ``inventory`` is a one-line ``ValueError``."""
    index = {p: i for i, p in enumerate(inventory)}
    missing = sorted(set(seq) - set(index))
    if missing:
        raise ValueError(f"phonemes: {missing} were not in the training data (known: {list(inventory)})")
    rows = []
    for p, n in zip(seq, counts, strict=True):
        x = torch.zeros(n, len(inventory) + 1)
        x[:, index[p]] = 1.0
        x[:, -1] = (torch.arange(n) + 0.5) / max(n, 1)
        rows.append(x)
    return torch.cat(rows)
