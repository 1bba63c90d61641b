"""The text jobs of the browser app: a character language model trained on an uploaded text.

A text job (``{"task": "text", "text": ..., "name": ...}`` posted to ``/v1/jobs``) is checked
here before it is queued (:func:`check_text`: UTF-8 text, no binary data, long enough), written
to the job's ``input.txt``, and trained in the worker process by :func:`run_text` with the
language app's own training (:func:`lstmkit.apps.language.textgen.train_language_model`:
truncated BPTT, Adam, clipping, a wall-clock time budget). Each epoch appends a progress row
(loss in nats and bits per character) to ``progress.jsonl``; the model is saved as
``lstmkit textgen train`` saves it (a ``lm`` bundle: config, weights, the character
tokenizer) to ``run/model.pt``, atomically, so a killed or cancelled job leaves none.

The text's first 90% is the training text, the rest the validation text its bits per
character are measured on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MAX_TEXT_CHARS", "MIN_TEXT_CHARS", "TEXT_INPUT", "TextJobRequest", "check_text", "run_text",
           "text_preview"]  # fmt: skip

#: the most characters a text job trains on, and the fewest
MAX_TEXT_CHARS = 2_000_000
MIN_TEXT_CHARS = 200
#: the most distinct characters the model predicts (rarer ones become ``<unk>``)
MAX_VOCABULARY = 1000
TEXT_INPUT = "input.txt"
#: lines shown by the preview, and their most characters
FIRST_LINES, LINE_CHARS = 6, 160
#: characters sampled into the result, after the training
SAMPLE_CHARS = 200


class TextJobRequest(BaseModel):
    """A text job: the text (``name``: its file's name, shown in the job list), the network's
    size, the truncated-BPTT length, the epochs, the learning rate, an optional time budget in
    seconds (wall clock) and the seed (small defaults: two cores)."""

    model_config = ConfigDict(extra="forbid")
    task: Literal["text"]
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS)]
    name: Annotated[str, Field(max_length=200)] = "text.txt"
    epochs: Annotated[int, Field(ge=1, le=500)] = 20
    hidden: Annotated[int, Field(ge=4, le=512)] = 128
    layers: Annotated[int, Field(ge=1, le=3)] = 1
    bptt: Annotated[int, Field(ge=8, le=256)] = 64
    lr: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 3e-3
    budget_s: Annotated[float | None, Field(gt=0, le=86_400, allow_inf_nan=False)] = None
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0


def check_text(text: str) -> None:
    """A one-line ``ValueError`` unless ``text`` is text a character model can learn from:
    not empty, no NUL bytes or undecodable bytes (U+FFFD) of a binary file, and
    :data:`MIN_TEXT_CHARS` to :data:`MAX_TEXT_CHARS` characters."""
    if not text.strip():
        raise ValueError("text: expected some text, got an empty file (or only spaces)")
    for mark, what in (("\x00", "a NUL byte"), ("\ufffd", "bytes that are not UTF-8")):
        at = text.find(mark)
        if at >= 0:
            raise ValueError(f"text: expected UTF-8 text, got binary data ({what} at character {at})")
    if not MIN_TEXT_CHARS <= len(text) <= MAX_TEXT_CHARS:
        few, many = f"{MIN_TEXT_CHARS:,}", f"{MAX_TEXT_CHARS:,}"
        raise ValueError(f"text: expected {few} to {many} characters, got {len(text):,}")


def text_preview(data: bytes) -> dict[str, Any]:
    """What the page shows of an uploaded file before training: characters, lines, the
    vocabulary (distinct characters, the commonest first) and the first lines; a one-line
    ``ValueError`` for what :func:`check_text` refuses or bytes that are not UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"text: expected UTF-8 text, got binary data (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    text = text.removeprefix("\ufeff")
    check_text(text)
    counts: dict[str, int] = {}
    for ch in text:
        counts[ch] = counts.get(ch, 0) + 1
    common = sorted(counts, key=lambda c: -counts[c])
    return {
        "characters": len(text),
        "lines": text.count("\n") + (not text.endswith("\n")),
        "vocabulary": len(counts),
        "common": "".join(common[:40]),
        "first_lines": [line[:LINE_CHARS] for line in text.splitlines()[:FIRST_LINES]],
    }


def _batch_size(tokens: int, bptt: int) -> int:
    """Rows per batch: 32, fewer for a short text (each row 16 chunks long at least)."""
    return max(1, min(32, tokens // (16 * bptt)))


def run_text(folder: Path, request: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Train the job's character model (in the worker), save its bundle to ``run/model.pt``
    and return the figures the page shows (written to ``result.json`` by the worker).

    Args:
        folder: the job's folder (``input.txt`` in it).
        request: the job's settings (a :class:`TextJobRequest` without the text).
        progress: the trainer callback that writes the progress rows.
    """
    from lstmkit.apps.language.bundle import save_bundle
    from lstmkit.apps.language.textgen import sample_text, train_language_model
    from lstmkit.apps.language.tokenizers import CharTokenizer
    from lstmkit.apps.language.training import TrainOptions

    text = (folder / TEXT_INPUT).read_text(encoding="utf-8")
    cut = int(len(text) * 0.9)
    bptt, seed = int(request["bptt"]), int(request["seed"])
    options = TrainOptions(
        lr=float(request["lr"]),
        batch_size=_batch_size(cut, bptt),
        epochs=int(request["epochs"]),
        time_budget=request.get("budget_s"),
        budget_clock="wall",
        seed=seed,
        progress=False,
    )
    hidden = int(request["hidden"])
    model = {"embed_dim": min(64, hidden), "hidden_size": hidden, "num_layers": int(request["layers"])}
    res = train_language_model(
        text[:cut], text[cut:], CharTokenizer(), model_kwargs=model, bptt=bptt,
        vocab_size=MAX_VOCABULARY, training=options, callbacks=(progress,),
    )  # fmt: skip
    extra = {"corpus": request.get("name"), "valid_bits": res.valid_bits, "wall_seconds": res.wall_seconds}
    (folder / "run").mkdir(exist_ok=True)
    save_bundle(folder / "run" / "model.pt", kind="lm", model=res.model, tokenizers={"text": res.tokenizer},
                extra=extra)  # fmt: skip
    sample = sample_text(res.model, res.tokenizer, "", SAMPLE_CHARS, temperature=0.8, seed=seed)
    return {
        "kind": "text",
        "valid_bits": res.valid_bits,
        "steps": res.steps,
        "seconds": res.wall_seconds,
        "vocabulary": len(res.tokenizer.vocab),
        "characters": len(text),
        "sample": sample,
    }
