"""What to trace for each kind of model file: the module, example inputs, free axes, names,
and the preprocessing a user of the exported graph must apply (the JSON sidecar).

Traced modules compute the app's evaluation-mode forward: the forecaster's, classifier's and
detector's networks as they are (the first output where a network returns a tuple), the
language model's logits without its id-range check (a data-dependent test no graph holds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.export import Dim

from lstmkit.apps.deploy.models import Loaded
from lstmkit.apps.forecasting.base import LEVELS
from lstmkit.apps.language.lm import LanguageModel

__all__ = ["Example", "FirstOutput", "LMLogits", "example", "preprocessing"]


class FirstOutput(nn.Module):
    """``net(x)``, or its first item when it returns a tuple (an LSTM's ``(output, state)``)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        out = self.net(x)
        return out[0] if isinstance(out, tuple) else out


class Forecast(nn.Module):
    """A forecaster network's distribution parameters for ``(past, future)``."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, past: Tensor, future: Tensor) -> Tensor:
        return self.net(past, future)


class LMLogits(nn.Module):
    """A :class:`~lstmkit.apps.language.lm.LanguageModel`'s logits (N, L, V) for token ids
    (N, L) int64, in evaluation mode (ids must lie in ``[0, V)``: nothing checks them), from
    the zero state (a recurrent body) or the ``L`` tokens alone (a Transformer, whose ``L``
    may not exceed its ``context``; a TCN)."""

    def __init__(self, lm: LanguageModel) -> None:
        super().__init__()
        self.lm = lm

    def forward(self, tokens: Tensor) -> Tensor:
        lm = self.lm
        out, _ = lm.body(lm.embedding(tokens))  # (N, L, H)
        if lm.project is not None:
            out = lm.project(out)  # (N, L, E)
        return lm.decoder(out)  # (N, L, V)


@dataclass(frozen=True)
class Example:
    """How to trace one kind's networks.

    Attributes:
        args: example inputs of ``view(net)``.
        inputs, outputs: names of the graph's inputs and outputs.
        shapes: ``dynamic_shapes`` for ``torch.export`` (one batch symbol shared by all inputs).
        static_axes: the axes the export check keeps (see :func:`lstmkit.export.onnx.check_onnx`).
        view: the module to trace for a network.
        refused: why this kind cannot be exported (``None``: it can).
    """

    args: tuple[Any, ...]
    inputs: list[str]
    outputs: list[str]
    shapes: tuple[Any, ...]
    static_axes: tuple[int, ...] | None
    view: Callable[[nn.Module], nn.Module]
    refused: str | None = None


def _estimator_example(loaded: Loaded) -> Example:
    g = torch.Generator().manual_seed(0)
    state, cfg, batch = loaded.payload, loaded.config, Dim("batch", min=1)
    if loaded.kind.name == "forecaster":
        lay = state["layout"]
        past = torch.randn(2, lay["window"], lay["input_size"], generator=g)
        future = torch.randn(2, cfg["horizon"], lay["future_size"], generator=g)
        return Example(
            (past, future), ["past", "future"], ["params"], ({0: batch}, {0: batch}), (1,), Forecast
        )
    if loaded.kind.name == "classifier":
        meta = state["meta"]
        x = torch.randn(2, meta["max_length"], meta["channels"], generator=g)
        return Example((x,), ["x"], ["logits"], ({0: batch},), (1,), FirstOutput)
    x = torch.randn(2, cfg["window"], len(state["mean"]), generator=g)
    return Example((x,), ["x"], ["output"], ({0: batch},), (1,), FirstOutput)


def example(loaded: Loaded) -> Example:
    """The :class:`Example` of ``loaded``'s kind."""
    if loaded.kind.estimator is not None:
        return _estimator_example(loaded)
    cfg, g = loaded.config, torch.Generator().manual_seed(0)
    tokens_axes = {0: Dim("batch", min=1), 1: Dim("length", min=1)}
    if loaded.kind.name == "lm":
        if cfg.get("architecture") == "transformer":  # its positions end at its context
            tokens_axes[1] = Dim("length", min=1, max=int(cfg["context"]))
        tokens = torch.randint(0, cfg["vocab_size"], (2, 7), generator=g)
        return Example((tokens,), ["tokens"], ["logits"], (tokens_axes,), None, LMLogits)  # type: ignore[arg-type]
    if loaded.kind.name == "sentiment":
        tokens = torch.randint(1, cfg["vocab_size"], (2, 7), generator=g)  # no padding id 0
        reason = "sentiment models (length-dependent pooling with input checks)"
        return Example((tokens,), ["tokens"], ["logits"], (tokens_axes,), None, FirstOutput, reason)
    low = 3  # past <pad>, <bos>, <eos>
    src = torch.randint(low, cfg["src_vocab_size"], (2, 7), generator=g)
    tgt = torch.randint(low, cfg["tgt_vocab_size"], (2, 5), generator=g)
    reason = "translate models (beam-search decoding with input checks)"
    return Example(
        (src, None, tgt), ["src", "src_lengths", "tgt_in"], ["logits"], (), None, nn.Identity, reason
    )


def preprocessing(loaded: Loaded, vocabulary: str | None) -> dict[str, Any]:
    """What a user of the exported graph must do to its inputs and with its outputs (the
    sidecar's ``preprocessing``), from the file's saved state."""
    state, cfg = loaded.payload, loaded.config
    name = loaded.kind.name
    if name == "forecaster":
        return {
            "inputs": "past: (N, window, input_size) windows of the scaled target (first feature), "
            "the window level (normalize='window'), standardized past covariates and the known-future "
            "features; future: (N, horizon, future_size) known-future features of the target steps",
            "outputs": f"params: (N, horizon, P) in the scaled space ({cfg['likelihood']} likelihood); "
            "quantile levels below; undo the scaling with the series' stats (and log/exponent)",
            "levels": list(LEVELS),
            "strategy": cfg["strategy"],
            "layout": state["layout"],
            "stats": state["stats"],
        }
    if name == "classifier":
        return {
            "inputs": "x: (N, max_length, channels) float32, zero beyond each length, each channel "
            "divided by 2**exponent as in training",
            "outputs": "logits: (N, num_classes)",
            "meta": state["meta"],
        }
    if name == "detector":
        return {
            "inputs": f"x: (N, window={cfg['window']}, channels) windows standardized by mean and std",
            "outputs": "the reconstruction (autoencoder) or the next-step prediction, same scaling",
            "mean": state["mean"],
            "std": state["std"],
            "exponent": state.get("exponent"),
        }
    most = f", L <= {cfg['context']}" if cfg.get("architecture") == "transformer" else ""
    return {
        "inputs": f"tokens: (N, L{most}) int64 ids from the vocabulary file's tokenizer (ids in [0, V))",
        "outputs": "logits: (N, L, V) of the next token at each position",
        "vocabulary": vocabulary,
        "tokenizer": loaded.tokenizers["text"].kind if "text" in loaded.tokenizers else None,
    }
