"""Argument checks of the video data generators: one-line errors naming the argument, expected and got."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

__all__ = ["SPLIT_SEEDS", "check_choice", "check_common", "check_int", "default_seed"]

#: the fixed seed of each split when ``seed=None``
SPLIT_SEEDS = {"train": 0, "test": 1}


def check_int(name: str, value: object, low: int) -> None:
    """A ValueError unless ``value`` is an int of at least ``low``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{name}: expected an int >= {low}, got {value!r}")


def check_choice(name: str, value: object, choices: Sequence[str]) -> None:
    """A ValueError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {value!r}")


def check_common(n: int, split: str, frames: int, size: int, source: str, *, min_size: int = 28) -> None:
    """The arguments every generator takes."""
    check_int("n", n, 1)
    check_choice("split", split, ("train", "test"))
    check_int("frames", frames, 2)
    check_int("size", size, min_size)
    check_choice("source", source, ("mnist", "fashion"))


def default_seed(seed: int | None, split: str) -> int:
    """``seed``, or the fixed seed of ``split`` when it is None."""
    if seed is None:
        return SPLIT_SEEDS[split]
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"seed: expected None or an int >= 0, got {seed!r}")
    return int(seed)
