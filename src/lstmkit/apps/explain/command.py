"""``lstmkit explain``: integrated gradients, occlusion, permutation importance, interpretable units
and gate heatmaps of a saved model. The work is :func:`lstmkit.apps.explain.job.explain`."""

from __future__ import annotations

import argparse

from lstmkit.apps.common import options as opt
from lstmkit.apps.explain import job

HELP = "explain a saved model: attributions, covariate importance, interpretable units, gate heatmaps"
DESCRIPTION = """
Write runs/<name>/explain.html (--out, --name; default name: the checkpoint's folder) with
what fits the model: for a forecaster (run / forecast) integrated gradients and occlusion of every
horizon step over the input window's steps and channels, and the covariates' permutation importance
(MASE increase); for a classifier (classify) and an anomaly detector (detect) the time steps or
samples that drove the class or the score; for a textgen character model the units whose activation
tracks a property of the text (quotes, brackets, line position, ...) with the text coloured by them;
for sentiment the tokens' attributions next to the attention weights and their rank agreement; and
for every model the gate and cell heatmaps of its LSTM with the gates' saturation. Integrated
gradients are refined until their sum matches the output's change from the all-zeros baseline
(the relative gap is shown). The data defaults to what the run recorded; --input names other data.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = opt.add_command(sub, "explain", HELP, DESCRIPTION, main)
    p.add_argument("--checkpoint", required=True, help="the model file (model.pt)")
    p.add_argument(
        "--input",
        default=None,
        help="forecaster: a bundled dataset or CSV file; classifier/detector: a bundled dataset; "
        "textgen: a text file; sentiment/translate: a text file, one text per line "
        "(default: the data the run recorded)",
    )
    g = p.add_argument_group("CSV columns (forecaster, --input FILE.csv)")
    g.add_argument("--target", default=None, help="the column the forecaster predicts")
    g.add_argument("--time", default=None, help="column of dates or integer steps (default: row number)")
    g.add_argument("--covariates", type=opt.comma_list, default=[], help="comma-separated past covariates")
    g.add_argument(
        "--future-covariates", type=opt.comma_list, default=[], help="comma-separated known-future covariates"
    )
    p.add_argument("--out", default="runs", help="parent folder of the page's folder (default runs)")
    p.add_argument("--name", default=None, help="the page's folder name (default: the checkpoint's folder)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing explain.html")
    p.add_argument("--n-steps", type=int, default=128, help="integrated gradients' points (default 128)")
    p.add_argument("--examples", type=int, default=4, help="sequences or texts explained (default 4)")
    p.add_argument("--max-chars", type=int, default=50_000, help="text searched for units (default 50000)")
    opt.add_seed_arg(p)


def main(args: argparse.Namespace) -> int:
    values = {
        "echo": True,
        "covariates": tuple(args.covariates),
        "future_covariates": tuple(args.future_covariates),
    }
    job.explain(opt.config_from_args(job.ExplainJobConfig, args, values))
    return 0
