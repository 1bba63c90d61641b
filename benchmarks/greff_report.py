"""docs/greff.md and its figures from the variant study's results (``benchmarks/greff.py``).

Everything here reads the results dictionary alone (settings, tasks, trials), so the page can be
rebuilt without running a trial.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.apps.experiments.greff import (
    GREFF_VARIANTS,
    HYPERPARAMETERS,
    PairedTest,
    clipped,
    main_effects,
    paired_test,
)
from lstmkit.io.plots import pyplot, save_figure

__all__ = ["render"]

ALPHA = 0.05
#: Wilcoxon's smallest two-sided p with n pairs is 2 / 2**n: below 6 pairs nothing reaches 0.05
MIN_PAIRS = 6
BINS = 5


@dataclass
class TaskResults:
    """One task's trials as a variant x trial matrix of clipped metrics (NaN: not run)."""

    name: str
    metric: str
    baseline: float
    variants: list[str]
    trials: list[int]
    values: np.ndarray  # (V, K)
    diverged: np.ndarray  # (V, K) bool
    hyper: dict[str, np.ndarray]  # name -> (K,)

    def row(self, variant: str) -> np.ndarray:
        return self.values[self.variants.index(variant)]

    def test(self, variant: str) -> PairedTest:
        return paired_test(self.row(variant), self.row("vanilla"))


def _task_results(data: dict[str, Any], name: str) -> TaskResults:
    rows = [r for r in data["trials"] if r["task"] == name]
    variants = [v for v in GREFF_VARIANTS if any(r["variant"] == v for r in rows)]
    trials = sorted({r["trial"] for r in rows})
    info = data["tasks"][name]
    values = np.full((len(variants), len(trials)), np.nan)
    diverged = np.zeros_like(values, dtype=bool)
    hyper = {h: np.full(len(trials), np.nan) for h in HYPERPARAMETERS}
    for r in rows:
        i, k = variants.index(r["variant"]), trials.index(r["trial"])
        metric = np.nan if r["metric"] is None else r["metric"]
        values[i, k] = clipped(np.array([metric]), info["baseline"])[0]
        diverged[i, k] = r["diverged"]
        for h in HYPERPARAMETERS:
            hyper[h][k] = r["hyperparameters"][h]
    return TaskResults(name, info["metric"], info["baseline"], variants, trials, values, diverged, hyper)


def _fmt(x: float, digits: int = 3) -> str:
    return "-" if not np.isfinite(x) else f"{x:.{digits}f}"


def _p(x: float) -> str:
    return "-" if not np.isfinite(x) else (f"{x:.3f}" if x >= 0.001 else f"{x:.0e}")


def _mark(t: PairedTest) -> str:
    if not np.isfinite(t.p_value) or t.p_value >= ALPHA or t.median_diff == 0:
        return ""
    return " (worse)" if t.median_diff > 0 else " (better)"


def _summary_table(results: list[TaskResults]) -> list[str]:
    head = "| variant | " + " | ".join(f"{r.name}: median {r.metric} (best)" for r in results) + " |"
    lines = [head, "| --- |" + " --- |" * len(results)]
    for v in GREFF_VARIANTS:
        cells = []
        for r in results:
            if v not in r.variants:
                cells.append("(not run)")
                continue
            row = r.row(v)
            mark = "" if v == "vanilla" else _mark(r.test(v))
            cells.append(f"{_fmt(float(np.nanmedian(row)))} ({_fmt(float(np.nanmin(row)))}){mark}")
        lines.append(f"| {v.upper()} | " + " | ".join(cells) + " |")
    return lines


def _task_table(r: TaskResults) -> list[str]:
    lines = [
        f"**{r.name}** ({r.metric}; trivial baseline {_fmt(r.baseline)}; {len(r.trials)} trials)",
        "",
        "| variant | trials | diverged | median | best | median of (variant - vanilla) | worse than "
        "vanilla in | Wilcoxon p |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for i, v in enumerate(r.variants):
        row = r.values[i]
        n, div = int(np.isfinite(row).sum()), int(r.diverged[i].sum())
        stats = f"{_fmt(float(np.nanmedian(row)))} | {_fmt(float(np.nanmin(row)))}"
        if v == "vanilla":
            lines.append(f"| {v.upper()} | {n} | {div} | {stats} | | | |")
            continue
        t = r.test(v)
        lines.append(
            f"| {v.upper()} | {n} | {div} | {stats} | {_fmt(t.median_diff, 4)}{_mark(t)} | "
            f"{_fmt(100 * t.worse_share, 0)} % | {_p(t.p_value)} |"
        )
    return lines


def _importance(results: list[TaskResults]) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Main effects of each hyperparameter within each variant (K trials, one draw each),
    averaged over the variants; and of the variant over every trial."""
    lines = [
        "| task | trials per variant | " + " | ".join(HYPERPARAMETERS) + " | chance level | variant "
        "| chance level |",
        "| --- | --- |" + " --- |" * (len(HYPERPARAMETERS) + 3),
    ]
    shares: dict[str, dict[str, float]] = {}
    for r in results:
        per_variant = []
        for row in r.values:
            ok = np.isfinite(row)
            per_variant.append(main_effects({h: r.hyper[h][ok] for h in HYPERPARAMETERS}, row[ok], bins=BINS))
        share = {h: float(np.mean([s[h] for s in per_variant])) for h in HYPERPARAMETERS}
        vi, ki = np.nonzero(np.isfinite(r.values))
        share["variant"] = main_effects({"variant": np.array(r.variants)[vi]}, r.values[vi, ki])["variant"]
        shares[r.name] = share
        k = len(r.trials)
        chance = (min(BINS, k) - 1) / max(1, k - 1)
        chance_v = (len(r.variants) - 1) / max(1, len(vi) - 1)
        cells = " | ".join(f"{100 * share[h]:.0f} %" for h in HYPERPARAMETERS)
        lines.append(
            f"| {r.name} | {k} | {cells} | {100 * chance:.0f} % | {100 * share['variant']:.0f} % "
            f"| {100 * chance_v:.0f} % |"
        )
    return lines, shares


def _boxplot(r: TaskResults, path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    data = [r.values[i][np.isfinite(r.values[i])] for i in range(len(r.variants))]
    box = ax.boxplot(data, patch_artist=True, widths=0.6)
    ax.set_xticks(range(1, len(r.variants) + 1), [v.upper() for v in r.variants])
    for patch, v in zip(box["boxes"], r.variants, strict=True):
        mark = "" if v == "vanilla" else _mark(r.test(v))
        patch.set_facecolor({" (worse)": "#e7969c", " (better)": "#98df8a"}.get(mark, "#c6dbef"))
    for i, d in enumerate(data):
        ax.plot(np.full(len(d), i + 1.0), d, ".", color="k", alpha=0.35, ms=3)
    ax.axhline(r.baseline, color="grey", ls=":", lw=1, label=f"trivial baseline {r.baseline:.3f}")
    ax.set_ylabel(r.metric)
    ax.set_title(
        f"{r.name}: {len(r.trials)} paired trials per variant (red: worse than vanilla, p < {ALPHA})"
    )
    ax.legend(loc="upper right", fontsize=8)
    save_figure(fig, path)


def _lr_plot(results: list[TaskResults], lr_range: tuple[float, float], path: Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 3.2), squeeze=False)
    for ax, r in zip(axes[0], results, strict=True):
        for i, v in enumerate(r.variants):
            style = {"color": "C3", "zorder": 3} if v == "vanilla" else {"color": "grey", "alpha": 0.4}
            ax.plot(r.hyper["lr"], r.values[i], ".", label="vanilla" if v == "vanilla" else None, **style)
        ax.set_xscale("log")
        ax.set_xlim(*lr_range)
        ax.set_xlabel("learning rate")
        ax.set_ylabel(r.metric)
        ax.set_title(r.name)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def _finding_nfg_noaf(r: TaskResults) -> str:
    if not {"nfg", "noaf"} <= set(r.variants):
        return "(NFG or NOAF not run)"
    if len(r.trials) < MIN_PAIRS:
        return f"undetermined ({len(r.trials)} paired trials; p < 0.05 needs {MIN_PAIRS})"
    others = [v for v in r.variants if v != "vanilla"]
    order = sorted(others, key=lambda v: -r.test(v).median_diff)
    worst = set(order[:3])
    parts, held = [], True
    for v in ("nfg", "noaf"):
        t = r.test(v)
        bad = _mark(t) == " (worse)"
        held &= bad and v in worst
        parts.append(f"{v.upper()} rank {order.index(v) + 1} of {len(order)}, p {_p(t.p_value)}")
    return f"{'held' if held else 'did not hold'} ({'; '.join(parts)})"


def _finding_cifg_np(r: TaskResults) -> str:
    if not {"cifg", "np"} <= set(r.variants):
        return "(CIFG or NP not run)"
    if len(r.trials) < MIN_PAIRS:
        return f"undetermined ({len(r.trials)} paired trials)"
    parts, held = [], True
    for v in ("cifg", "np"):
        t = r.test(v)
        held &= _mark(t) != " (worse)"
        parts.append(f"{v.upper()} median diff {_fmt(t.median_diff, 4)}, p {_p(t.p_value)}")
    return f"{'held' if held else 'did not hold'} ({'; '.join(parts)})"


def _finding_lr(share: dict[str, float], trials: int) -> str:
    top = max(HYPERPARAMETERS, key=lambda h: share[h])
    if trials < 3 * BINS:
        return f"undetermined ({trials} trials per variant; lr {100 * share['lr']:.0f} %)"
    if top == "lr":
        return f"held (lr {100 * share['lr']:.0f} %)"
    return f"did not hold ({top} {100 * share[top]:.0f} %, lr {100 * share['lr']:.0f} %)"


def _findings(results: list[TaskResults], shares: dict[str, dict[str, float]]) -> list[str]:
    lines = ["| task | NFG and NOAF hurt most | CIFG and NP do not hurt | learning rate matters most |"]
    lines.append("| --- | --- | --- | --- |")
    for r in results:
        n = len(r.trials)
        if "vanilla" not in r.variants:
            lines.append(f"| {r.name} | (no vanilla trials) | | {_finding_lr(shares[r.name], n)} |")
            continue
        cells = [_finding_nfg_noaf(r), _finding_cifg_np(r), _finding_lr(shares[r.name], n)]
        lines.append(f"| {r.name} | " + " | ".join(cells) + " |")
    return lines


def _wrap(*paragraphs: str) -> list[str]:
    """Paragraphs wrapped at 96 columns, a blank line after each."""
    out: list[str] = []
    for p in paragraphs:
        out += [*textwrap.wrap(p, 96, subsequent_indent="  " if p.startswith("- ") else ""), ""]
    return out


def _smoke_banner(data: dict[str, Any], results: list[TaskResults]) -> list[str]:
    if not data["settings"].get("smoke"):
        return []
    trials = ", ".join(f"{r.name} {len(r.trials)}" for r in results)
    return [
        "> **This page shows a SMOKE RUN, not the study.** It checks the pipeline end to end with a",
        f"> few trials per variant ({trials}) and a quarter of the SGD steps; its numbers and",
        "> verdicts say nothing about the variants. Made by:",
        ">",
        *(f"> `{c}`  " for c in data.get("commands", [])),
        ">",
        "> The study itself is `make bench-greff`, which writes `benchmarks/results/greff.json` and",
        "> renders this page again from it.",
        "",
    ]


def _partial_banner(data: dict[str, Any], results: list[TaskResults], planned: int = 30) -> list[str]:
    """A banner while the study has fewer than the ``planned`` paired trials per variant."""
    if data["settings"].get("smoke") or all(len(r.trials) >= planned for r in results):
        return []
    trials = ", ".join(f"{r.name} {len(r.trials)}" for r in results)
    return [
        f"> **A PARTIAL STUDY.** Paired trials per variant so far: {trials} of the {planned} that",
        "> `make bench-greff` runs (it resumes where it stopped and renders this page again). With",
        "> this few trials the medians are rough and most paired tests cannot reach p < 0.05.",
        "",
    ]


def _setup(data: dict[str, Any], results: list[TaskResults]) -> list[str]:
    st, sp = data["settings"], data["settings"]["space"]
    tasks = [
        f"- **{r.name}**: {data['tasks'][r.name]['description']}; {st['steps'][r.name]} SGD steps per trial."
        for r in results
    ]
    return _wrap(
        "Greff et al. (2017), *LSTM: A Search Space Odyssey*, compared the vanilla LSTM (input, forget "
        "and output gates, peepholes, tanh on the block input and the cell output) with eight variants "
        "that each change one thing: no input gate (NIG), no forget gate (NFG), no output gate (NOG), no "
        "input activation function (NIAF), no output activation function (NOAF), no peepholes (NP), "
        "coupled input and forget gate (CIFG, f = 1 - i) and full gate recurrence (FGR). Here every "
        "variant is `lstmkit.core.layers.LSTM(..., variant=name)` (the gate math of "
        "`lstmkit.core.cells.lstm`, `engine='auto'`), one unidirectional layer and a linear read-out "
        "(`lstmkit.apps.experiments.greff.VariantNet`). Tasks (`benchmarks/greff.py`):",
        *tasks,
        "The paper's tasks were speech (TIMIT), handwriting (IAM Online) and polyphonic music (JSB "
        "chorales). The chorales here are music21's Bach chorales (the corpus the music app uses; "
        "music21 is pinned since issue 19), so the paper's music task is run directly; Japanese "
        "Vowels stands in for speech, the KJV character LM and the weather series for the rest. The "
        "chorale task joined the study after the first three (`python benchmarks/greff.py --tasks "
        "chorales`, the same search space and paired draws).",
        f"**Random search (paper Sec. 4, scaled).** Trial k draws, from a seed fixed by the task and k: "
        f"learning rate log-uniform in [{sp['lr'][0]:g}, {sp['lr'][1]:g}], LSTM blocks log-uniform in "
        f"[{sp['hidden_size'][0]}, {sp['hidden_size'][1]}], momentum = 1 - log-uniform "
        f"[{sp['one_minus_momentum'][0]:g}, {sp['one_minus_momentum'][1]:g}] (so in [0, 0.99]) and "
        f"Gaussian input noise with std uniform in [{sp['input_noise'][0]:g}, {sp['input_noise'][1]:g}]. "
        "Every variant runs trial k with the same draw and the same seed (initialization draws, batches "
        "and noise): a paired design, so each variant is compared with vanilla trial by trial. "
        f"Training: {st['optimizer']}, a fixed number of steps (results do not depend on the machine's "
        "load), mini-batches of 32, no early stopping; the test metric of the final network. The "
        "paper's learning-rate range, [1e-6, 1e-2], was for losses summed over each sequence and one "
        "sequence per update; ours are means over a batch of 32 sequences and their steps, so the range "
        "sits two decades higher.",
        "**Scoring.** Lower is better on every task. A trial that diverged (non-finite loss) or ended "
        "worse than the task's trivial baseline (unigram character frequencies, the majority class, "
        "yesterday's value) counts as that baseline. Paired comparison with vanilla: the Wilcoxon "
        f"signed-rank test on the trial-by-trial differences, two-sided, p < {ALPHA} marked *(worse)* or "
        "*(better)*, not corrected for the 8 comparisons per task.",
        f"Machine: {data.get('machine', '?')}.",
    )


def render(data: dict[str, Any], images: Path) -> str:
    """The markdown page; writes the figures into ``images`` (docs/images)."""
    names = [n for n in data["tasks"] if any(r["task"] == n for r in data["trials"])]
    results = [_task_results(data, n) for n in names]
    images.mkdir(parents=True, exist_ok=True)
    for r in results:
        _boxplot(r, images / f"greff_{r.name}.png")
    low, high = data["settings"]["space"]["lr"]
    _lr_plot(results, (low, high), images / "greff_lr.png")
    importance, shares = _importance(results)
    lines = [
        "# The LSTM variants of Greff et al. (2017) on this machine",
        "",
        *_smoke_banner(data, results),
        *_partial_banner(data, results),
        "## Setup",
        "",
        *_setup(data, results),
        "## Variant x task",
        "",
        "Median test metric over the trials (best trial in brackets); *(worse)* / *(better)*: the",
        "paired test against vanilla says so at p < 0.05.",
        "",
        *_summary_table(results),
        "",
    ]
    for r in results:
        lines += [
            f"![{r.name}: test metric per variant](images/greff_{r.name}.png)",
            "",
            *_task_table(r),
            "",
        ]
    lines += [
        "## Hyperparameter importance (paper Sec. 5, simplified)",
        "",
        "Share of the variance of the (clipped) test metric that each factor explains alone: the",
        "trials are cut into 5 equal-count bins of the factor and the variance of the bin means is",
        "divided by the total. For a hyperparameter this is computed over the trials of each",
        "variant (one draw per trial) and averaged over the variants; for the variant itself, over",
        "every trial of the task (one bin per variant). These are fANOVA's main effects without its",
        "random forest and without interactions; a factor unrelated to the metric still reaches",
        "the chance level next to it.",
        "",
        *importance,
        "",
        "![test metric against learning rate](images/greff_lr.png)",
        "",
        "## The paper's findings, here",
        "",
        "NFG and NOAF *hurt most*: both significantly worse than vanilla and both among the three",
        "variants with the largest median paired difference. CIFG and NP *do not hurt*: neither",
        "significantly worse. Learning rate *matters most*: the largest main effect of the four",
        "hyperparameters.",
        "",
        *_findings(results, shares),
        "",
        "## Caveats",
        "",
        "- Budgets are small: a few hundred SGD steps per trial, tens of trials per variant (the",
        "  paper: training to convergence with early stopping, 200 trials per variant and task).",
        "  A variant that learns slowly looks worse here than it would after convergence.",
        "- Three tasks stand in for the paper's TIMIT and IAM Online; the network is",
        "  one unidirectional layer, and the learning-rate range is shifted (see Setup).",
        "- Test windows give every scored step between one and two training lengths of context,",
        "  so variants without a forget gate are not asked to run longer than they were trained.",
        "- 8 comparisons per task at p < 0.05 are uncorrected: about one in three tasks would show",
        "  a false *(worse)* or *(better)* by chance if no variant differed.",
        "",
        "## Reproduce",
        "",
        "```",
        "make bench-greff                                        # the study, then this page",
        "python benchmarks/greff.py --trials 10 --tasks vowels   # some of it (resumes, skips done trials)",
        "python benchmarks/greff.py --smoke                      # the pipeline check (greff-smoke.json)",
        "python benchmarks/greff.py --render                     # this page from the saved results",
        "```",
        "",
    ]
    return "\n".join(lines)
