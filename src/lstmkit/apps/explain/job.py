"""``lstmkit explain``: one page of explanations of a saved model, ``<out>/<name>/explain.html``.

The folder is ``runs/<name>``, ``name`` the checkpoint's folder name (``runs/airline/model.pt``
-> ``runs/airline/explain.html``, beside the run's own report): a folder lstmkit made (its
marker then lists the new files, so the run stays one lstmkit may replace) or a new one, never
a folder of someone else's files. The page, its pictures (``explain_*.png``) and
``explain.json`` (the numbers) are each written atomically; an existing ``explain.html`` is
replaced only with ``overwrite``.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.apps.deploy.models import load_model
from lstmkit.apps.explain.kinds import KINDS
from lstmkit.io.html import write_json, write_page
from lstmkit.io.runfolder import add_to_run, claim_folder

__all__ = ["ExplainJobConfig", "ExplainJobResult", "explain"]

log = logging.getLogger("lstmkit.explain")


@dataclass(frozen=True)
class ExplainJobConfig:
    """The settings of :func:`explain`.

    Args:
        checkpoint: a model file of ``run``, ``forecast``, ``classify``, ``detect``, ``textgen``,
            ``sentiment`` or ``translate`` (or a compressed one of ``lstmkit compress``).
        input: what to explain: a forecaster's bundled dataset or CSV file (``target``, ``time``,
            ``covariates``, ``future_covariates`` for its columns); a classifier's or detector's
            bundled dataset; a text file for the language models (one text per line for
            sentiment and translation). Default: the data the run's ``metrics.json`` or the
            language bundle records.
        out, name: the page goes to ``out/name/explain.html`` (default ``runs`` and the
            checkpoint's folder name).
        overwrite: replace an existing ``explain.html``.
        n_steps: integrated gradients' quadrature points (refined where completeness misses).
        examples: sequences or texts explained (classifier, sentiment, translation).
        max_chars: characters of held-out text searched for interpretable units (language models).
        seed: permutation importance's shuffles.
        echo: print the page's path and the main numbers.
    """

    checkpoint: str
    input: str | None = None
    target: str | None = None
    time: str | None = None
    covariates: tuple[str, ...] = ()
    future_covariates: tuple[str, ...] = ()
    out: str = "runs"
    name: str | None = None
    overwrite: bool = False
    n_steps: int = 128
    examples: int = 4
    max_chars: int = 50_000
    seed: int = 0
    echo: bool = False


@dataclass(frozen=True)
class ExplainJobResult:
    """The page written, the model's kind and the numbers of ``explain.json``."""

    page: Path
    kind: str
    metrics: dict[str, Any]


def _folder(config: ExplainJobConfig) -> Path:
    """``out/name``, defaulting to the checkpoint's own folder."""
    return Path(config.out) / (config.name or Path(config.checkpoint).resolve().parent.name)


def _stamps(folder: Path) -> dict[str, tuple[int, int]]:
    """The files of ``folder`` (top level) with their size and modification time: what explain
    wrote is what changed between two of these."""
    return {e.name: (e.stat().st_size, e.stat().st_mtime_ns) for e in os.scandir(folder) if e.is_file()}


def _check(config: ExplainJobConfig) -> None:
    for name in ("n_steps", "examples", "max_chars"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"--{name.replace('_', '-')}: expected an int >= 1, got {value!r}")


def explain(config: ExplainJobConfig) -> ExplainJobResult:
    """Explain the model of ``config.checkpoint``; see the module docstring.

    Raises:
        FileNotFoundError, ValueError: no such model file, not an lstmkit model, bad input.
        FileExistsError: ``explain.html`` exists (without ``overwrite``), or the folder holds
            someone else's files.
    """
    _check(config)
    loaded = load_model(config.checkpoint)
    if (loaded.method or {}).get("name") == "quantize":
        raise ValueError(
            f"--checkpoint: {config.checkpoint!r} holds int8 networks (lstmkit compress --method quantize), "
            "which have no gradients for attributions; explain the float model it was made from"
        )
    folder = _folder(config)
    page = folder / "explain.html"
    if page.exists() and not config.overwrite:
        raise FileExistsError(f"--overwrite: {os.fspath(page)!r} exists; pass --overwrite to replace it")
    claim_folder(folder, "explain", what="--out/--name")
    before = _stamps(folder)
    started = time.perf_counter()
    with np.errstate(all="ignore"):
        sections, metrics = KINDS[loaded.kind.name](loaded, config, os.fspath(folder))
    metrics = {"checkpoint": os.fspath(config.checkpoint), "kind": loaded.kind.name, **metrics}
    metrics["seconds"] = time.perf_counter() - started
    write_json(folder / "explain.json", metrics)
    title = f"lstmkit explain: {Path(config.checkpoint).name} ({loaded.kind.name})"
    write_page(page, title, sections)
    after = _stamps(folder)
    add_to_run(folder, sorted(name for name, stamp in after.items() if before.get(name) != stamp))
    log.info("explanations of %s written to %s", config.checkpoint, page)
    if config.echo:
        print(page)
    return ExplainJobResult(page, loaded.kind.name, metrics)
