"""Every saved model file of lstmkit, read as networks with their example inputs.

The files (``lstmkit run``/``forecast``/``classify``/``detect`` write an
:class:`~lstmkit.fit.estimator.Estimator` file, ``textgen``/``sentiment``/``translate`` a
language bundle, :mod:`lstmkit.apps.language.bundle`) differ in how they hold their networks;
:func:`load_model` gives each as a :class:`Loaded`: the networks (ensemble members, CPU, eval
mode), the payload they came from, and the means to write changed networks back.

``lstmkit compress`` writes a file of the same kind where the app rebuilds the networks from
the file's config (magnitude pruning; structured pruning where the config records the new
width). Where it cannot (int8 networks; structured pruning of networks whose config cannot
say their widths) it writes a *compressed model file*::

    {"format": "lstmkit.Compressed", "version": 1,
     "method": {"name": "quantize"} | {"name": "prune-units", "amount": 0.5, "consumers": {...}},
     "source": the original file without its weights,
     "members": [the compressed networks' state dicts]}

:func:`load_model` reads it too: it rebuilds each network from ``source``, applies ``method``
(:func:`lstmkit.compress.quantize_dynamic` or :func:`lstmkit.compress.prune_units`; the shapes
depend on the method alone) and loads the saved weights. ``Loaded.estimator`` is then the
app's model (a :class:`~lstmkit.apps.forecasting.estimator.Forecaster`, ...) holding them, so
the app's ``predict`` runs the compressed networks::

    >>> m = load_model("runs/airline/model.int8.pt")
    >>> m.estimator.predict(series=y)          # an Estimator file's kind
    >>> logits, state = m.nets[0](tokens)      # a language bundle's network
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from lstmkit.apps.anomaly.estimator import AnomalyDetector
from lstmkit.apps.classification.estimator import SequenceClassifier
from lstmkit.apps.forecasting.estimator import Forecaster
from lstmkit.apps.language.lm import LanguageModel
from lstmkit.apps.language.seq2seq import Seq2Seq
from lstmkit.apps.language.text_classifier import TextClassifier
from lstmkit.apps.language.tokenizers import Tokenizer, tokenizer_from_state
from lstmkit.compress import prune_units, quantize_dynamic
from lstmkit.core.layers.encoder import SequenceEncoder
from lstmkit.core.layers.stacked import StackedRecurrent
from lstmkit.fit.checkpoint import load_file
from lstmkit.fit.estimator import Estimator
from lstmkit.io.atomic import atomic_save

__all__ = ["COMPRESSED", "KINDS", "Kind", "Loaded", "build", "hidden_sizes", "load_model", "save_model"]

COMPRESSED = "lstmkit.Compressed"

#: a network's transformation before its weights are loaded (``None``: none)
Transform = Callable[[nn.Module], nn.Module] | None


@dataclass(frozen=True)
class Kind:
    """One kind of model file: its ``name`` (``"forecaster"``), the command that writes it,
    the Estimator class or the language network class that rebuilds its networks."""

    name: str
    command: str
    estimator: type[Estimator] | None = None
    network: type[nn.Module] | None = None


#: the file kinds by format tag
KINDS: dict[str, Kind] = {
    "lstmkit.Forecaster": Kind("forecaster", "run / forecast", estimator=Forecaster),
    "lstmkit.SequenceClassifier": Kind("classifier", "classify", estimator=SequenceClassifier),
    "lstmkit.AnomalyDetector": Kind("detector", "detect", estimator=AnomalyDetector),
    "lstmkit-lm": Kind("lm", "textgen", network=LanguageModel),
    "lstmkit-sentiment": Kind("sentiment", "sentiment", network=TextClassifier),
    "lstmkit-translate": Kind("translate", "translate", network=Seq2Seq),
}


@dataclass
class Loaded:
    """A model file read by :func:`load_model`.

    Attributes:
        path: the file.
        kind: its :class:`Kind`.
        payload: the file's dict (for a compressed file: its ``source``, the original file
            without weights).
        nets: the networks (ensemble members), CPU, eval mode.
        method: how a compressed file's networks were made (``None``: an app's own file).
        estimator: the app's model holding ``nets`` (Estimator kinds; ``None`` for bundles).
        tokenizers: a language bundle's tokenizers by name.
    """

    path: Path
    kind: Kind
    payload: dict[str, Any]
    nets: list[nn.Module]
    method: dict[str, Any] | None = None
    estimator: Estimator | None = None
    tokenizers: dict[str, Tokenizer] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        """The settings: an Estimator's config, or a bundle network's constructor arguments."""
        return self.payload["config"]


# ---------------------------------------------------------------------- members of a payload
def member_states(kind: Kind, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The networks' state dicts held by an app's file ``payload``."""
    if kind.estimator is not None:
        return list(payload["members"])
    return [payload["model"], *payload.get("extra", {}).get("members", [])]


def with_members(kind: Kind, payload: dict[str, Any], states: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of ``payload`` holding ``states`` as its networks (``[]``: no weights at all)."""
    out = {k: v for k, v in payload.items() if k not in ("members", "model")}
    if kind.estimator is not None:
        return {**out, "members": states}
    extra = {k: v for k, v in payload.get("extra", {}).items() if k != "members"}
    if len(states) > 1:
        extra["members"] = states[1:]
    return {**out, "model": states[0] if states else {}, "extra": extra}


def build(kind: Kind, payload: dict[str, Any], states: list[dict[str, Any]], transform: Transform) -> Loaded:
    """The networks of ``payload``'s kind rebuilt from its config, ``transform``-ed, holding ``states``."""
    nets: list[nn.Module] = []
    estimator = None
    if kind.estimator is not None:
        estimator = kind.estimator(**{**payload["config"], "device": "cpu"}, progress=False)
        estimator._set_state(payload)
        fresh: Callable[[int], nn.Module] = estimator._new_net
    else:
        assert kind.network is not None
        network, config = kind.network, payload["config"]
        fresh = lambda member: network(**config)  # noqa: E731
    for k, state in enumerate(states):
        net = fresh(k).eval()
        if transform is not None:
            net = transform(net)
        net.load_state_dict(state)
        nets.append(net.eval())
    if estimator is not None:
        estimator.nets_ = nets
    tokenizers = {k: tokenizer_from_state(v) for k, v in payload.get("tokenizers", {}).items()}
    return Loaded(Path("."), kind, payload, nets, None, estimator, tokenizers)


def method_transform(method: dict[str, Any] | None) -> Transform:
    """What a compressed file's ``method`` does to a freshly built network."""
    if method is None:
        return None
    name = method.get("name")
    if name == "quantize":
        return quantize_dynamic
    if name == "prune-units":
        amount, consumers = float(method["amount"]), method.get("consumers") or None
        return lambda net: prune_units(net, amount, consumers=_consumers(consumers, net))
    raise ValueError(f"method: unknown compression {name!r} (this lstmkit knows quantize, prune-units)")


def _consumers(saved: dict[str, Any] | None, net: nn.Module) -> dict[str, Any] | None:
    """Consumers as saved (lists) back to :func:`prune_units`'s form (tuples); an LSTM saved
    under a name that now holds a SequenceEncoder (a file of an older lstmkit) is its layer."""
    if saved is None:
        return None
    names = dict(net.named_modules())

    def where(k: str) -> str:
        return f"{k}.layer" if isinstance(names.get(k), SequenceEncoder) else k

    return {where(k): tuple(v) if isinstance(v, list) else v for k, v in saved.items()}


# ---------------------------------------------------------------------- files
def load_model(path: str | os.PathLike[str]) -> Loaded:
    """Read any lstmkit model file (the kinds of :data:`KINDS` or a compressed file) onto the CPU.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a file that is no lstmkit model (naming the kinds known), or a newer one.
    """
    shown = os.fspath(path)
    payload = load_file(shown, "an lstmkit model file")
    tag = payload.get("format") if isinstance(payload, dict) else None
    if tag == COMPRESSED:
        assert isinstance(payload, dict)
        if payload.get("version", 1) > 1:
            raise ValueError(
                f"checkpoint: {shown!r} was written by a newer lstmkit (format {payload['version']})"
            )
        source = payload["source"]
        kind = KINDS.get(source.get("format"))
        if kind is None:
            raise ValueError(f"checkpoint: {shown!r} compresses an unknown kind {source.get('format')!r}")
        loaded = build(kind, source, payload["members"], method_transform(payload["method"]))
        loaded.method = payload["method"]
    else:
        kind = KINDS.get(tag) if isinstance(tag, str) else None
        if kind is None:
            known = ", ".join(f"{k.command} ({t})" for t, k in KINDS.items())
            raise ValueError(
                f"checkpoint: {shown!r} is not an lstmkit model file (format {tag!r}); known: {known}"
            )
        assert isinstance(payload, dict)
        limit = kind.estimator.format_version if kind.estimator is not None else 1
        if payload.get("version", 1) > limit:
            raise ValueError(
                f"checkpoint: {shown!r} was written by a newer lstmkit (format {payload['version']})"
            )
        loaded = build(kind, payload, member_states(kind, payload), None)
    loaded.path = Path(shown)
    return loaded


def save_model(
    loaded: Loaded,
    nets: list[nn.Module],
    path: str | os.PathLike[str],
    *,
    method: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
) -> None:
    """Write ``nets`` as a file of ``loaded``'s kind (``config``: settings changed), or, with
    ``method``, as a compressed model file (module docstring), atomically."""
    states = [_cpu_state(net) for net in nets]
    if method is not None:
        source = with_members(loaded.kind, loaded.payload, [])
        previous = loaded.method
        if previous is not None:
            raise ValueError(
                f"checkpoint: already compressed ({previous['name']}); compress the original model file"
            )
        atomic_save(
            {"format": COMPRESSED, "version": 1, "method": method, "source": source, "members": states}, path
        )
        return
    payload = with_members(loaded.kind, copy.copy(loaded.payload), states)
    if config is not None:
        payload["config"] = {**payload["config"], **config}
    if loaded.method is not None:
        payload = {
            "format": COMPRESSED,
            "version": 1,
            "method": loaded.method,
            "source": with_members(loaded.kind, payload, []),
            "members": states,
        }
    atomic_save(payload, path)


def _cpu_state(net: nn.Module) -> dict[str, Any]:
    """``net``'s state dict on the CPU (torch.ao's packed int8 entries, tuples, kept as they
    are; its ``_metadata``, the modules' versions, kept: torch.ao's int8 linear reads it)."""
    state = net.state_dict()
    for k, v in state.items():
        if isinstance(v, Tensor):
            state[k] = v.detach().cpu()
    return state


def hidden_sizes(net: nn.Module) -> list[int]:
    """The hidden sizes of the lstmkit LSTMs of ``net``, in order."""
    return [m.hidden_size for m in net.modules() if isinstance(m, StackedRecurrent)]
