r"""A spoken-digit corpus synthesized by espeak-ng (or flite), split by voice, cached.

Each utterance is either an isolated digit (one of the words ``zero`` .. ``nine``; ``oh`` is
not used, so every label is one spoken word) or a connected string of 2 to 7 digits (like
TIDIGITS), spoken by one voice (:mod:`lstmkit.apps.speech.synth`: an espeak-ng accent and
variant) at a speed, pitch and amplitude drawn per utterance. Labels are digit strings, e.g.
``"3141"``.

**Split by voice.** A voice's variant (its timbre: formants, pitch range, voicing) belongs to
one split only: :data:`TRAIN_VARIANTS` for ``"train"``, :data:`TEST_VARIANTS` for ``"test"``;
every accent of :data:`~lstmkit.apps.speech.synth.ACCENTS` appears in both. So no test voice
(accent + variant) is heard in training, nor is its variant with any accent.

**A second synthesizer.** The splits of :data:`FLITE_SPLITS` are spoken by flite
(:mod:`lstmkit.apps.speech.flite`) instead: ``"flite"`` by all its voices (a test set for
recognizers trained on espeak-ng only), ``"flite-train"`` and ``"flite-test"`` by disjoint
voices. The drawn speed sets flite's duration stretch (160 / speed), the amplitude a gain
(amplitude / 100); flite has no pitch setting for every voice, so the pitch is not used.

The clean 16 kHz waveforms of a split are synthesized once per setting and cached as int16 in
``$LSTMKIT_DATA/speech`` (default ``~/.cache/lstmkit/speech``), written atomically; the key
holds every setting, the espeak-ng version and :data:`FORMAT`. Everything is drawn from
``numpy.random.default_rng([seed, split])``: the same settings give the same corpus.
Augmentation (:mod:`lstmkit.apps.speech.augment`) is applied after the cache
(:func:`augmented`, :func:`noisy`), also seeded.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from lstmkit.apps.speech.augment import AugmentConfig, add_noise, augment
from lstmkit.apps.speech.flite import FLITE_VOICES, find_flite, flite_version, speak_flite
from lstmkit.apps.speech.synth import ACCENTS, espeak_version, find_espeak, speak
from lstmkit.io.atomic import atomic_write_bytes
from lstmkit.io.progress import progress_bar

__all__ = [
    "DIGIT_WORDS",
    "FLITE_SPLITS",
    "FORMAT",
    "SPLITS",
    "TEST_VARIANTS",
    "TRAIN_VARIANTS",
    "SpeechCorpus",
    "augmented",
    "cache_dir",
    "load_corpus",
    "noisy",
    "synthesize",
    "voices",
]

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: espeak-ng voice variants heard in training
TRAIN_VARIANTS = (
    "m1",
    "m2",
    "m3",
    "m4",
    "m6",
    "m7",
    "f1",
    "f2",
    "f4",
    "Andy",
    "Annie",
    "Denis",
    "Lee",
    "paul",
)
#: voice variants of the test split only
TEST_VARIANTS = ("m5", "m8", "f3", "f5", "Alicia", "benjamin")
SPLITS = {"train": TRAIN_VARIANTS, "test": TEST_VARIANTS}
#: splits spoken by flite's voices: all of them, and a split by voice
FLITE_SPLITS = {"flite": FLITE_VOICES, "flite-train": ("kal", "kal16", "rms"), "flite-test": ("awb", "slt")}
_ALL_SPLITS = (*SPLITS, *FLITE_SPLITS)
#: what changes the synthesized audio besides the settings: bump to invalidate old caches
FORMAT = 1
SPEEDS, PITCHES, AMPLITUDES = (120, 220), (25, 75), (40, 120)


def voices(split: str) -> list[str]:
    """The voices of ``split``: espeak-ng's ``ACCENT+VARIANT`` for ``"train"`` and ``"test"``,
    flite's voice names for the splits of :data:`FLITE_SPLITS`."""
    if split in FLITE_SPLITS:
        return list(FLITE_SPLITS[split])
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {_ALL_SPLITS}, got {split!r}")
    return [f"{a}+{v}" for a in ACCENTS for v in SPLITS[split]]


@dataclass(frozen=True)
class SpeechCorpus:
    """Utterances: ``audio[i]`` (S_i,) float32 at 16 kHz, ``labels[i]`` its digits (``"314"``),
    ``voices[i]`` its espeak-ng voice."""

    audio: list[np.ndarray]
    labels: list[str]
    voices: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def isolated(self) -> np.ndarray:
        """(N,) bool: which utterances are one digit."""
        return np.array([len(s) == 1 for s in self.labels])

    def subset(self, mask: np.ndarray) -> SpeechCorpus:
        idx = np.flatnonzero(mask)
        return SpeechCorpus(
            [self.audio[i] for i in idx], [self.labels[i] for i in idx], [self.voices[i] for i in idx]
        )


@dataclass(frozen=True)
class _Plan:
    label: str
    voice: str
    speed: int
    pitch: int
    amplitude: int


def _plan(split: str, isolated: int, strings: int, seed: int) -> list[_Plan]:
    """The utterances of a split: ``isolated`` single digits then ``strings`` 2..7-digit strings."""
    rng = np.random.default_rng([seed, _ALL_SPLITS.index(split)])
    pool = voices(split)
    plans = []
    for k in range(isolated + strings):
        n = 1 if k < isolated else int(rng.integers(2, 8))
        label = "".join(str(d) for d in rng.integers(0, 10, n))
        plans.append(
            _Plan(
                label,
                pool[int(rng.integers(len(pool)))],
                int(rng.integers(SPEEDS[0], SPEEDS[1] + 1)),
                int(rng.integers(PITCHES[0], PITCHES[1] + 1)),
                int(rng.integers(AMPLITUDES[0], AMPLITUDES[1] + 1)),
            )
        )
    return plans


def synthesize(
    split: str, isolated: int, strings: int, seed: int = 0, *, progress: bool = False
) -> SpeechCorpus:
    """A split's corpus synthesized now (see :func:`load_corpus`, which caches it)."""
    flite = split in FLITE_SPLITS
    (find_flite if flite else find_espeak)()
    plans = _plan(split, isolated, strings, seed)
    bar = progress_bar(
        len(plans), f"{'flite' if flite else 'espeak-ng'} {split}", enable=progress, unit="utt"
    )
    audio = []
    for p in plans:
        text = " ".join(DIGIT_WORDS[int(d)] for d in p.label)
        if flite:
            audio.append(speak_flite(text, p.voice, stretch=160 / p.speed, gain=p.amplitude / 100))
        else:
            audio.append(speak(text, p.voice, speed=p.speed, pitch=p.pitch, amplitude=p.amplitude))
        bar.update(1)
    bar.close()
    return SpeechCorpus(audio, [p.label for p in plans], [p.voice for p in plans])


def cache_dir() -> Path:
    """``$LSTMKIT_DATA/speech`` or ``~/.cache/lstmkit/speech``."""
    return Path(os.environ.get("LSTMKIT_DATA") or Path.home() / ".cache" / "lstmkit") / "speech"


def _cache_file(folder: Path, split: str, isolated: int, strings: int, seed: int) -> Path:
    if split in FLITE_SPLITS:
        key = json.dumps([split, isolated, strings, seed, FLITE_SPLITS[split], flite_version(), FORMAT])
    else:
        key = json.dumps([split, isolated, strings, seed, SPLITS[split], espeak_version(), FORMAT])
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return folder / f"digits_{split}_{isolated}i_{strings}s_seed{seed}_{digest}.npz"


def _write(path: Path, corpus: SpeechCorpus) -> None:
    buffer = io.BytesIO()
    pcm = np.concatenate([np.round(a * 32767).astype(np.int16) for a in corpus.audio])
    ends = np.cumsum([len(a) for a in corpus.audio])
    meta = json.dumps({"labels": corpus.labels, "voices": corpus.voices})
    np.savez(buffer, pcm=pcm, ends=ends, meta=np.array(meta))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())


def _read(path: Path) -> SpeechCorpus:
    with np.load(path, allow_pickle=False) as f:
        pcm, ends, meta = f["pcm"], f["ends"], json.loads(str(f["meta"]))
    audio = [a.astype(np.float32) / 32767 for a in np.split(pcm, ends[:-1])]
    return SpeechCorpus(audio, list(meta["labels"]), list(meta["voices"]))


def load_corpus(
    split: str,
    isolated: int,
    strings: int,
    seed: int = 0,
    *,
    cache: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> SpeechCorpus:
    """The clean corpus of ``split``: read from the cache, or synthesized and cached.

    Args:
        split: ``"train"`` or ``"test"`` (espeak-ng; disjoint voices, see the module docstring),
            or one of :data:`FLITE_SPLITS` (flite).
        isolated: how many isolated digits (the first utterances).
        strings: how many connected strings of 2..7 digits (the rest).
        seed: the corpus's seed (labels, voices, speeds, pitches, amplitudes).
        cache: the cache folder (default :func:`cache_dir`); ``""`` caches nothing.
        progress: a progress bar while synthesizing.
    """
    for name, n in (("isolated", isolated), ("strings", strings)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"{name}: expected a count of utterances >= 0, got {n!r}")
    if split not in _ALL_SPLITS:
        raise ValueError(f"split: expected one of {_ALL_SPLITS}, got {split!r}")
    folder = cache_dir() if cache is None else Path(cache) if cache != "" else None
    path = _cache_file(folder, split, isolated, strings, seed) if folder else None
    if path is not None and path.is_file():
        return _read(path)
    corpus = synthesize(split, isolated, strings, seed, progress=progress)
    if path is not None:
        _write(path, corpus)
    return corpus


def augmented(corpus: SpeechCorpus, config: AugmentConfig, seed: int) -> SpeechCorpus:
    """``corpus`` with every waveform augmented by ``config`` (one draw per utterance)."""
    rng = np.random.default_rng([seed, 7])
    return replace(corpus, audio=[augment(a, config, rng) for a in corpus.audio])


def noisy(corpus: SpeechCorpus, snr_db: float, seed: int = 0) -> SpeechCorpus:
    """``corpus`` with white noise added at ``snr_db`` dB (a fixed draw per seed)."""
    rng = np.random.default_rng([seed, 11, round(snr_db * 10)])
    return replace(corpus, audio=[add_noise(a, snr_db, rng) for a in corpus.audio])
