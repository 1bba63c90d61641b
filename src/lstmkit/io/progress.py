"""Progress bars on stderr: a tqdm bar, or a silent stand-in with the same methods.

Every long loop of lstmkit (an ensemble's epochs, a backtest's origins, a trainer's batches)
shows its progress through :func:`progress_bar`, so one flag (``progress=False``, a command's
``--no-progress``) turns them all off and code never tests whether a bar exists.

Example::

    >>> bar = progress_bar(3, "fit", enable=False)
    >>> for _ in range(3):
    ...     bar.update(1)
    ...     bar.set_postfix_str("loss=0.1")
    >>> bar.close()
"""

from __future__ import annotations

import sys
from typing import Protocol

__all__ = ["ProgressBar", "SilentBar", "progress_bar", "shrink_total"]


class ProgressBar(Protocol):
    """What lstmkit calls on a bar (a subset of tqdm's methods)."""

    def update(self, n: int = 1) -> object: ...

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None: ...

    def close(self) -> None: ...


class SilentBar:
    """A bar that shows nothing (``enable=False``, or tqdm missing)."""

    total: int | None = None

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(
    total: int | None, desc: str, enable: bool = True, *, initial: int = 0, unit: str = "it"
) -> ProgressBar:
    """A tqdm bar on stderr that disappears when closed; a :class:`SilentBar` when disabled.

    Args:
        total: steps the bar counts to (``None``: unknown).
        desc: the label before the bar.
        enable: ``False`` gives a :class:`SilentBar`.
        initial: steps already done (a resumed epoch).
        unit: what one step is (``"batch"``).
    """
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is in requirements
        enable = False
    if not enable:
        return SilentBar()
    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
        unit=unit,
    )


def shrink_total(bar: ProgressBar, steps: int) -> None:
    """Take ``steps`` that will not run (an early stop) off the bar's total, never below the
    steps done; nothing for a bar without a total."""
    total = getattr(bar, "total", None)
    if total is not None:
        bar.total = max(bar.n, total - steps)  # type: ignore[attr-defined]
        bar.refresh()  # type: ignore[attr-defined]
