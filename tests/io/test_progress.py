"""Progress bars: tqdm when enabled, a silent stand-in otherwise, totals that shrink."""

from __future__ import annotations

from lstmkit.io.progress import SilentBar, progress_bar, shrink_total


def test_disabled_bars_are_silent() -> None:
    bar = progress_bar(10, "fit", enable=False)
    assert isinstance(bar, SilentBar)
    bar.update(3)
    bar.set_postfix_str("loss=1", refresh=False)
    shrink_total(bar, 5)  # no total: nothing to shrink
    bar.close()


def test_shrink_never_goes_below_the_steps_done(capsys) -> None:
    bar = progress_bar(10, "fit")
    bar.update(4)
    shrink_total(bar, 3)
    assert bar.total == 7  # type: ignore[attr-defined]
    shrink_total(bar, 100)
    assert bar.total == 4  # type: ignore[attr-defined]
    bar.close()
