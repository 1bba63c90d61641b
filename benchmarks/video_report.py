"""The results block of docs/video.md, from ``benchmarks/results/video.json`` (written by
``benchmarks/video.py``): ``python benchmarks/video_report.py [--quick]`` re-renders it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from lstmkit.io.atomic import atomic_write_text
from lstmkit.io.html import format_table

DOC = Path("docs/video.md")
IMAGES = Path("docs/images")


def _pct(v: float) -> str:
    return f"{100 * v:+.1f}%"


def _prediction(results: dict[str, Any]) -> list[str]:
    rows = results["prediction"]["rows"]
    steps = [
        {"model": r["model"], **{f"t+{k + 1}": v for k, v in enumerate(r[key])}}
        for key in ("mse_by_step", "ssim_by_step")
        for r in rows
    ]
    cols = ["model"] + [f"t+{k}" for k in range(1, len(rows[0]["mse_by_step"]) + 1)]
    n = len(rows)
    return [
        "Next-frame prediction (10 in, 10 out), fixed test set; per-frame MSE is the sum of squared "
        "errors over a frame's 64x64 pixels in [0, 1] (lower is better), SSIM the mean over frames:",
        "",
        "```",
        format_table(rows, ["model", "mse", "ssim", "params", "train_seconds"], floatfmt=".4g"),
        "```",
        "",
        "By frame ahead, per-frame MSE (first block) and SSIM (second block):",
        "",
        "```",
        format_table(steps[:n], cols, floatfmt=".1f"),
        "",
        format_table(steps[n:], cols, floatfmt=".3f"),
        "```",
    ]


def _acceptance(results: dict[str, Any]) -> list[str]:
    a = results["acceptance"]
    ssim_gain = min(a["ssim_ratio_vs_fc"], a["dissimilarity_gain_vs_fc"])

    def mark(ok: bool) -> str:
        return "met" if ok else "**not met**"

    acc = a["accuracy"]
    return [
        "The issue's targets, measured in this run:",
        "",
        f"- ConvLSTM vs FC-LSTM, per-frame MSE: {_pct(a['mse_gain_vs_fc'])} lower (target >= 20%): "
        f"{mark(a['mse_gain_vs_fc'] >= 0.2)}",
        f"- ConvLSTM vs FC-LSTM, SSIM: ratio {_pct(a['ssim_ratio_vs_fc'])}, (1 - SSIM) "
        f"{_pct(a['dissimilarity_gain_vs_fc'])} lower; the stricter of the two, {_pct(ssim_gain)}, "
        f"against the 20% target: {mark(ssim_gain >= 0.2)}",
        f"- ConvLSTM vs copy-last: MSE {_pct(a['mse_gain_vs_copy'])} lower, "
        f"SSIM {_pct(a['ssim_ratio_vs_copy'])}",
        f"- motion classes, test accuracy: ConvLSTM {acc['convlstm']:.1%}, CNN + LSTM {acc['cnn-lstm']:.1%} "
        f"(target >= 95%): {mark(max(acc.values()) >= 0.95)}",
        f"- anomalies, ROC-AUC: {a['roc_auc']:.3f} (target >= 0.9): {mark(a['roc_auc'] >= 0.9)}",
    ]


def _anomaly_rows(anom: dict[str, Any]) -> list[dict[str, Any]]:
    """The anomaly table's rows: every scoring's (with its validation ROC-AUC), or the one
    scoring of an older results file."""
    scorings = anom.get("scorings", {"rollout": {"rows": anom["rows"]}})
    rows = []
    for scoring, found in scorings.items():
        if "valid_roc_auc" in found:
            rows.append(
                {"scoring": scoring, "kind": "validation", "videos": "", "roc_auc": found["valid_roc_auc"]}
            )
        rows += [{"scoring": scoring, **r} for r in found["rows"]]
    return rows


def render_block(results: dict[str, Any], command: str, pictures: list[str]) -> str:
    """The markdown of one run."""
    s = results["settings"]
    cls, anom = results["classification"], results["anomalies"]
    lines = [
        f"`{command}` ({results['threads']} thread(s), load average at the end {results['load_average']}; "
        f"{results['total_seconds'] / 60:.1f} min in all). Prediction: {s['pred_train']} training videos, "
        f"{s['pred_test']} test videos, {s['pred_epochs']} epochs for each model (batch {s['batch_size']}); "
        f"motion classes: {s['cls_train']} / {s['cls_test']} videos, {s['cls_epochs']} epochs; anomalies: "
        f"{s['anomaly_test']} test videos.",
        "",
        *_prediction(results),
        "",
        f"Motion classes ({', '.join(cls['classes'])}), test accuracy:",
        "",
        "```",
        format_table(cls["rows"], ["model", "accuracy", "params", "train_seconds"], floatfmt=".4g"),
        "```",
        "",
        f"Motion anomalies (ConvLSTM of the prediction study; {anom['normal_videos']} normal test videos), "
        "ROC-AUC overall and of each kind against the normal videos, by each scoring; the result is "
        f"the scoring with the higher ROC-AUC on validation videos: **{anom.get('scoring', 'rollout')}**",
        "",
        "```",
        format_table(_anomaly_rows(anom), ["scoring", "kind", "videos", "roc_auc"], floatfmt=".3f"),
        "```",
        "",
        *_acceptance(results),
    ]
    if pictures:
        lines += ["", *(f"![{p}](images/{p})" for p in pictures)]
    return "\n".join(lines)


def write_doc(name: str, block: str) -> None:
    """Put ``block`` between the markers of run ``name`` in docs/video.md (appended when absent)."""
    begin, end = f"<!-- video-results:{name}:begin -->", f"<!-- video-results:{name}:end -->"
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Video\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + begin + "\n" + block + "\n" + end + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{begin}\n{block}\n{end}\n"
    atomic_write_text(DOC, text)


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    results = json.loads(Path(f"benchmarks/results/video{'-quick' if quick else ''}.json").read_text())
    pictures = [] if quick else ["video_predict.png", "video_predict.gif", "video_curves.png"]
    command = "make bench-video" + (" ARGS=--quick" if quick else "")
    write_doc("quick" if quick else "full", render_block(results, command, pictures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
