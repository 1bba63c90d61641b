"""The speech job's report folder: the results table, a test utterance's log-mel spectrogram and
its CTC posteriorgram, the training loss, ``metrics.json`` and the fitted model (``model.pt``)."""

from __future__ import annotations

import html
import os

import numpy as np
import torch

from lstmkit.apps.common.reports import write_summary
from lstmkit.apps.speech.features import FeatureConfig, features
from lstmkit.apps.speech.job import COLUMNS, SpeechTrainConfig, SpeechTrainResult
from lstmkit.io.html import metrics_table_html
from lstmkit.io.plots import plot_losses, pyplot, save_figure
from lstmkit.io.runfolder import run_folder

__all__ = ["plot_utterance", "write_report"]


def plot_utterance(audio: np.ndarray, logits: torch.Tensor, title: str, path: str | os.PathLike[str]) -> None:
    """Two panels: the log-mel spectrogram of ``audio`` (10 ms frames) and the CTC
    posteriorgram (per-step class probabilities; rows: blank, 0 .. 9)."""
    plt = pyplot()
    spec = features(audio, FeatureConfig(normalize="global")).numpy().T  # (40, T)
    post = torch.softmax(logits, -1).numpy().T  # (11, T')
    fig, axes = plt.subplots(2, 1, figsize=(9, 5.5), sharex=False)
    axes[0].imshow(spec, origin="lower", aspect="auto", cmap="magma", extent=(0, spec.shape[1] / 100, 0, 40))
    axes[0].set_ylabel("mel band")
    axes[0].set_title(title)
    steps = post.shape[1]
    seconds = len(audio) / 16000
    axes[1].imshow(
        post, origin="lower", aspect="auto", cmap="Greys", vmin=0, vmax=1, extent=(0, seconds, -0.5, 10.5)
    )
    axes[1].set_yticks(range(11), ["blank", *[str(d) for d in range(10)]], fontsize=7)
    axes[1].set_xlabel(f"seconds ({steps} CTC steps)")
    axes[1].set_ylabel("class")
    save_figure(fig, path)


def _examples(result: SpeechTrainResult, folder: str) -> str:
    test = result.test
    picks = [
        i for i in (int(np.argmax(~test.isolated())) if (~test.isolated()).any() else 0, 0) if i < len(test)
    ]
    out = []
    for k, i in enumerate(dict.fromkeys(picks)):
        logits = result.model.logits([test.audio[i]])[0]
        hyp = result.model.decode(logits, 8)
        title = f"reference {test.labels[i]}, recognized {hyp or '(nothing)'} ({test.voices[i]})"
        plot_utterance(test.audio[i], logits, title, os.path.join(folder, f"utterance_{k}.png"))
        out.append(f"<img src='utterance_{k}.png' alt='{html.escape(title)}'>")
    return "".join(out)


def write_report(result: SpeechTrainResult, config: SpeechTrainConfig) -> None:
    """Write the run folder: ``index.html``, ``metrics.json``, ``model.pt``, the figures."""
    assert result.folder is not None
    kind = "unidirectional LSTM (streams)" if config.unidirectional else "biLSTM"
    text = (
        f"{result.metrics['train_utterances']} synthesized training utterances (espeak-ng voices), "
        f"{len(result.test)} test utterances by voices never heard in training. Model: {kind}, "
        f"{config.num_layers} x {config.hidden}, CTC, {config.epochs} epochs. The speech is synthesized: "
        "these figures say how well the recognizer generalizes across synthetic voices, not to human speech."
    )
    sections = [("", f"<p>{html.escape(text)}</p>"), ("Results", metrics_table_html(result.rows, COLUMNS))]
    with run_folder(result.folder, "speech", overwrite=config.overwrite) as tmp:
        sections.append(("Spectrogram and CTC posteriorgram", _examples(result, tmp)))
        if result.model.history_.get("train_loss"):
            plot_losses(
                {"train": result.model.history_["train_loss"]}, os.path.join(tmp, "loss.png"), "CTC loss"
            )
            sections.append(("Training", "<img src='loss.png' alt='training loss'>"))
        result.model.save(os.path.join(tmp, "model.pt"))
        write_summary(tmp, f"lstmkit speech train: {kind}", sections, dict(result.metrics))
