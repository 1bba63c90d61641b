"""``lstmkit classify``: train a sequence classifier on a bundled UCR/UEA dataset, print test accuracy."""

from __future__ import annotations

import argparse
import logging
import os
import time

from lstmkit.io.runfolder import OVERWRITE_HELP

log = logging.getLogger("lstmkit.classify")

#: LSTM-FCN test accuracy reported by Karim et al. (2018), Table 1
PAPER = {"gunpoint": 1.000, "italypowerdemand": 0.962, "arrowhead": 0.897, "osuleaf": 0.983}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "classify",
        help="train a sequence classifier (LSTM-FCN, LSTM, BiLSTM) on a UCR/UEA dataset",
        description="Train on the dataset's training split, report accuracy on its test split (never "
        "used for training or model selection), and write runs/NAME/ with the loss curve.",
    )
    p.add_argument(
        "--dataset",
        default="gunpoint",
        help="gunpoint, italypowerdemand, arrowhead, basicmotions, "
        "japanesevowels, osuleaf (`lstmkit data list --task classification`)",
    )
    p.add_argument(
        "--arch",
        default="lstm-fcn",
        choices=["lstm-fcn", "lstm", "bilstm"],
        help="LSTM-FCN (Karim et al. 2018), an LSTM or a bidirectional LSTM (default lstm-fcn)",
    )
    p.add_argument("--pooling", default="last", choices=["last", "mean", "attention"], help="for lstm/bilstm")
    p.add_argument("--hidden", type=int, default=None, help="LSTM cells (default 8 for LSTM-FCN, else 64)")
    p.add_argument("--no-shuffle", action="store_true", help="LSTM-FCN: LSTM over time, no dimension shuffle")
    p.add_argument("--epochs", type=int, default=300, help="training epochs (default 300)")
    p.add_argument("--batch-size", type=int, default=32, help="sequences per batch (default 32)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 0.001)")
    p.add_argument("--ensemble", type=int, default=1, help="networks from different seeds (default 1)")
    p.add_argument(
        "--augment",
        default="none",
        choices=["none", "light", "warp"],
        help="training-time augmentation: light = jitter and scaling, warp = also time warping and "
        "window slicing (default none)",
    )
    p.add_argument(
        "--test-views",
        type=int,
        default=1,
        help="average the predictions over the series and N-1 window slices of it (default 1: none)",
    )
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto (default cpu)")
    p.add_argument("--save", default=None, help="write the fitted classifier here (.pt)")
    p.add_argument("--out", default="runs", help="parent folder of the report (default runs)")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=classify_main)


def classify_main(args: argparse.Namespace) -> int:
    import numpy as np

    from lstmkit.apps.classification.estimator import SequenceClassifier
    from lstmkit.apps.datasets import sources
    from lstmkit.fit.config import resolve_device
    from lstmkit.fit.evaluation import confusion_matrix
    from lstmkit.io import plots
    from lstmkit.io.atomic import check_output_file
    from lstmkit.io.html import prepare_run_folder, run_folder, write_json, write_page

    resolve_device(args.device, "--device")  # before any folder or training
    data = sources.load_classification(args.dataset)
    target = os.path.join(args.out, f"classify-{data.name}-{args.arch}")
    prepare_run_folder(target, "classify", overwrite=args.overwrite)
    if args.save:
        check_output_file(args.save, "--save", torch_file=True)
    log.info("%r", data)
    t0 = time.perf_counter()
    clf = SequenceClassifier(
        args.arch,
        pooling=args.pooling,
        hidden_size=args.hidden,
        shuffle=not args.no_shuffle,
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        ensemble=args.ensemble,
        augment=args.augment,
        test_views=args.test_views,
        seed=args.seed,
        device=args.device,
        progress=not args.no_progress,
    ).fit(data.x_train, data.y_train, data.lengths_train)
    seconds = time.perf_counter() - t0
    pred = clf.predict(data.x_test, data.lengths_test)
    acc = float((pred == data.y_test).mean())
    train_acc = clf.score(data.x_train, data.y_train, data.lengths_train)
    paper = PAPER.get(data.name)
    print(
        f"dataset {data.name}: {len(data.y_train)} train / {len(data.y_test)} test sequences, "
        f"{data.num_classes} classes"
    )
    print(f"model {args.arch}" + (f" ({args.pooling} pooling)" if args.arch != "lstm-fcn" else ""))
    print(f"train accuracy {train_acc:.4f}")
    print(f"test accuracy  {acc:.4f}" + (f"   (LSTM-FCN paper: {paper:.3f})" if paper else ""))
    print(f"training time  {seconds:.0f} s")
    if args.save:
        clf.save(args.save)
    cm = confusion_matrix(data.y_test, pred, data.num_classes)
    with run_folder(target, "classify", overwrite=args.overwrite) as tmp:
        plots.plot_losses(clf.history_, os.path.join(tmp, "loss.png"), title="training loss (first member)")
        result = {
            "dataset": data.name,
            "arch": args.arch,
            "test_accuracy": acc,
            "train_accuracy": train_acc,
            "paper": paper,
            "seconds": seconds,
            "confusion": cm.tolist(),
            "config": vars(clf.config),
        }
        write_json(os.path.join(tmp, "metrics.json"), result)
        rows = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in cm)
        write_page(
            os.path.join(tmp, "index.html"),
            f"lstmkit classify: {data.name}",
            [
                (
                    "",
                    f"<p>{args.arch}: test accuracy <b>{acc:.4f}</b> (train {train_acc:.4f}); "
                    f"{seconds:.0f} s.</p>",
                ),
                ("Confusion matrix (rows: true class)", f"<table>{rows}</table>"),
                ("Training loss", "<img src='loss.png' alt='loss'>"),
            ],
        )
    del np
    return 0
