"""The music jobs' run folders: piano-roll figures, the generated piece as MIDI, the loss curves,
the table, ``metrics.json`` and (train) the fitted model (``model.pt``); the same for the melody
job, its tune drawn note by note (:func:`plot_melody`)."""

from __future__ import annotations

import html
import os
from collections.abc import Sequence

import numpy as np

from lstmkit.apps.common.reports import write_summary
from lstmkit.apps.music.job import COLUMNS, MusicJobConfig, MusicJobResult
from lstmkit.apps.music.melody_job import COLUMNS as MELODY_COLUMNS
from lstmkit.apps.music.melody_job import MelodyJobConfig, MelodyJobResult
from lstmkit.apps.music.midi import write_melody_midi, write_midi
from lstmkit.io.html import metrics_table_html
from lstmkit.io.plots import plot_losses, pyplot, save_figure
from lstmkit.io.runfolder import run_folder

__all__ = ["plot_melody", "plot_rolls", "write_melody_report", "write_report"]


def plot_rolls(
    panels: Sequence[tuple[str, np.ndarray]],
    low: int,
    path: str | os.PathLike[str],
    *,
    marker: int | None = None,
) -> None:
    """Piano rolls stacked one above the other, each ``(title, (L, P) values in [0, 1])`` with
    column 0 at MIDI pitch ``low``; ``marker``: a dashed line before that frame (a primer's end)."""
    plt = pyplot()
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.6 * len(panels)), squeeze=False)
    for ax, (title, roll) in zip(axes[:, 0], panels, strict=True):
        length, pitches = roll.shape
        extent = (-0.5, length - 0.5, low - 0.5, low + pitches - 0.5)
        ax.imshow(roll.T, aspect="auto", origin="lower", cmap="Greys", vmin=0, vmax=1, extent=extent)
        if marker:
            ax.axvline(marker - 0.5, color="#d62728", ls="--", lw=1)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("MIDI pitch")
    axes[-1, 0].set_xlabel("frame")
    fig.tight_layout()
    save_figure(fig, path)


def _sample_section(result: MusicJobResult, config: MusicJobConfig, tmp: str) -> str:
    meta = result.model.meta_
    sample = result.sample
    write_midi(os.path.join(tmp, "sample.mid"), sample.roll, meta["low"], meta["resolution"])
    start = (
        f"the first {config.primer} frames of test chorale {config.chorale}" if config.primer else "silence"
    )
    panels = [
        (
            f"generated: {len(sample.roll)} frames from {start}, temperature {config.temperature:g}",
            sample.roll,
        ),
        ("the probabilities each frame was drawn from", sample.probs),
    ]
    plot_rolls(panels, meta["low"], os.path.join(tmp, "sample.png"), marker=config.primer)
    return (
        f"<p>Sampled frame by frame from {html.escape(start)} (dashed line: the primer's end). "
        "<a href='sample.mid'>sample.mid</a></p><img src='sample.png' alt='generated piano roll'>"
    )


def _train_sections(result: MusicJobResult, config: MusicJobConfig, tmp: str) -> list[tuple[str, str]]:
    assert result.probs is not None
    model = result.model
    panels = [
        (f"test chorale {config.chorale}", result.chorale),
        ("the LSTM's probability of each note, given the frames before", result.probs),
    ]
    plot_rolls(panels, model.meta_["low"], os.path.join(tmp, "chorale.png"))
    curves = {k: model.history_[k] for k in ("train_loss", "val_loss") if k in model.history_}
    plot_losses(curves, os.path.join(tmp, "loss.png"), "NLL per frame (nats)")
    model.save(os.path.join(tmp, "model.pt"))
    return [
        ("Results", metrics_table_html(result.rows, COLUMNS, floatfmt=".4g")),
        ("A test chorale", "<img src='chorale.png' alt='piano roll and predicted probabilities'>"),
        ("Training", "<img src='loss.png' alt='loss curves'>"),
    ]


def write_report(result: MusicJobResult, config: MusicJobConfig, kind: str) -> None:
    """Write the run folder: ``index.html``, ``metrics.json``, ``sample.mid``, the figures and
    (train) ``model.pt``."""
    assert result.folder is not None
    meta = result.model.meta_
    intro = (
        f"Bach chorales of music21's corpus as piano rolls of {meta['resolution']} frame(s) per quarter "
        f"note over MIDI pitches {meta['low']}..{meta['low'] + meta['pitches'] - 1}, not transposed."
    )
    with run_folder(result.folder, kind, overwrite=config.overwrite) as tmp:
        sections: list[tuple[str, str]] = [("", f"<p>{html.escape(intro)}</p>")]
        if result.task == "train":
            sections += _train_sections(result, config, tmp)
        sections.append(("Generated", _sample_section(result, config, tmp)))
        write_summary(tmp, f"lstmkit music {config.task}", sections, result.metrics)


def plot_melody(tokens: Sequence[str], path: str | os.PathLike[str], title: str, *, marker: int = 0) -> None:
    """A melody of note tokens (``"67:1/2"``) as a piano roll: a bar per note at its pitch, from
    its onset for its duration (quarter notes); ``marker``: a dashed line before that note."""
    from lstmkit.apps.music.melody import REST, token_note

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 3))
    onset = 0.0
    for i, token in enumerate(tokens):
        pitch, duration = token_note(token)
        if i == marker and marker:
            ax.axvline(onset, color="#d62728", ls="--", lw=1)
        if pitch != REST:
            ax.broken_barh(
                [(onset, 0.92 * float(duration))], (pitch - 0.4, 0.8), color="#333333"
            )  # gaps: repeats
        onset += float(duration)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("quarter notes")
    ax.set_ylabel("MIDI pitch (transposed)")
    fig.tight_layout()
    save_figure(fig, path)


def _melody_sample(result: MelodyJobResult, config: MelodyJobConfig, tmp: str) -> str:
    from lstmkit.apps.music.melody import token_note

    write_melody_midi(os.path.join(tmp, "sample.mid"), [token_note(t) for t in result.sample])
    start = f"the first {result.primer} notes of test tune {config.tune}" if result.primer else "nothing"
    title = f"generated: {len(result.sample)} notes after {start}, temperature {config.temperature:g}"
    plot_melody(result.sample, os.path.join(tmp, "sample.png"), title, marker=result.primer)
    return (
        f"<p>Sampled note by note after {html.escape(start)} (dashed line: the primer's end). "
        "<a href='sample.mid'>sample.mid</a></p><img src='sample.png' alt='generated melody'>"
    )


def write_melody_report(result: MelodyJobResult, config: MelodyJobConfig) -> None:
    """Write the melody run folder: ``index.html``, ``metrics.json``, ``sample.mid``,
    ``sample.png`` and (train-melody) ``model.pt`` and ``loss.png``."""
    assert result.folder is not None
    intro = (
        "Folk songs of the Essen collection in music21's corpus, one token per note or rest "
        "(transposed pitch, duration), each tune transposed to a key signature of no sharps or flats."
    )
    with run_folder(result.folder, config.task, overwrite=config.overwrite) as tmp:
        sections: list[tuple[str, str]] = [("", f"<p>{html.escape(intro)}</p>")]
        if result.task == "train-melody":
            model = result.model
            curves = {k: model.history_[k] for k in ("train_loss", "val_loss") if k in model.history_}
            plot_losses(curves, os.path.join(tmp, "loss.png"), "NLL per event (nats)")
            model.save(os.path.join(tmp, "model.pt"))
            sections += [
                ("Results", metrics_table_html(result.rows, MELODY_COLUMNS, floatfmt=".4g")),
                ("Training", "<img src='loss.png' alt='loss curves'>"),
            ]
        sections.append(("Generated", _melody_sample(result, config, tmp)))
        write_summary(tmp, f"lstmkit music {config.task}", sections, result.metrics)
