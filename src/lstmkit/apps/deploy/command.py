"""``lstmkit export`` and ``lstmkit compress``: take a saved model out of eager Python, or make
it smaller. The work is :func:`lstmkit.apps.deploy.job.export` and
:func:`lstmkit.apps.deploy.compress.compress`."""

from __future__ import annotations

import argparse

from lstmkit.apps.common import options as opt
from lstmkit.apps.deploy import compress as compress_job
from lstmkit.apps.deploy import job
from lstmkit.apps.deploy.distill_lm import DistillSettings

EXPORT_HELP = "export a saved model as ONNX (checked with onnxruntime) or a torch.export program"
EXPORT_DESCRIPTION = """
Write the networks of a model file saved by run, forecast, classify, detect or textgen (or a pruned
file of `lstmkit compress`) as ONNX files or torch.export programs (.pt2), batch (and the language
model's sequence length) free, each checked against the eager network, with a JSON sidecar
<output>.json describing the inputs, outputs and preprocessing (and <stem>.vocab.json, the language
model's vocabulary). An ensemble gives one file per member (NAME.member0.onnx, ...). Not supported:
--quantize int8 (lstmkit's int8 LSTM is a C++ kernel, neither an ONNX operator nor a torch.export
one), sentiment and translate files.
"""
COMPRESS_HELP = "make a saved model smaller: int8 quantization, pruning, distillation"
COMPRESS_DESCRIPTION = """
quantize: int8 weights and products (CPU inference) for every model file; written as a compressed
model file that lstmkit.apps.deploy.models.load_model reads (its .estimator predicts with the app's
API). prune: the --amount share of each weight tensor set to zero (a file the app loads as usual),
or with --structured that share of the hidden units removed (smaller layers: a file of the same kind
with the new hidden_size where the app rebuilds it, else a compressed model file). distill: textgen
language models only, into a smaller student. Prints sizes, weights and the largest output change
on example inputs; writes NAME.int8.pt / NAME.pruned.pt / NAME.distilled.pt unless --output.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = opt.add_command(sub, "export", EXPORT_HELP, EXPORT_DESCRIPTION, export_main)
    p.add_argument("--checkpoint", required=True, help="the model file (model.pt)")
    p.add_argument("--format", default="onnx", choices=list(job.FORMATS), help="default onnx")
    p.add_argument("--quantize", default=None, help="int8: refused for both formats (see above)")
    p.add_argument("--output", default=None, help="the file to write (default: the checkpoint's, .onnx/.pt2)")
    p.add_argument("--overwrite", action="store_true", help="replace existing files")
    p = opt.add_command(sub, "compress", COMPRESS_HELP, COMPRESS_DESCRIPTION, compress_main)
    p.add_argument("--checkpoint", required=True, help="the model file (model.pt)")
    p.add_argument("--method", required=True, choices=list(compress_job.METHODS), help="what to do")
    p.add_argument(
        "--amount", type=float, default=0.5, help="prune: the share removed, in [0, 1) (default 0.5)"
    )
    p.add_argument("--structured", action="store_true", help="prune whole hidden units (smaller layers)")
    p.add_argument("--output", default=None, help="the file to write (default NAME.<method>.pt)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    d = p.add_argument_group("distill (textgen language models)")
    d.add_argument("--hidden", type=int, default=None, help="student units (default: half the teacher's)")
    d.add_argument("--layers", type=int, default=1, help="student layers (default 1)")
    d.add_argument("--text-file", default=None, help="training text (default: the teacher's corpus)")
    d.add_argument("--max-chars", type=int, default=200_000, help="training characters (default 200000)")
    d.add_argument("--epochs", type=int, default=1, help="default 1")
    d.add_argument("--lr", type=float, default=3e-3, help="default 0.003")
    d.add_argument("--temperature", type=float, default=2.0, help="soft-target temperature (default 2)")
    d.add_argument("--alpha", type=float, default=0.5, help="weight of the teacher's term (default 0.5)")
    opt.add_seed_arg(d)


def export_main(args: argparse.Namespace) -> int:
    job.export(opt.config_from_args(job.ExportJobConfig, args, {"echo": True}))
    return 0


def compress_main(args: argparse.Namespace) -> int:
    settings = opt.config_from_args(DistillSettings, args)
    compress_job.compress(
        opt.config_from_args(compress_job.CompressJobConfig, args, {"distill": settings, "echo": True})
    )
    return 0
