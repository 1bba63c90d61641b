"""``lstmkit export`` and ``lstmkit compress`` on a forecaster ensemble and a char LM file:
onnxruntime equals eager, the written files load back through the apps, errors are one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from tests.apps.conftest import SERIES, TEXT

from lstmkit.apps.deploy.compress import CompressJobConfig, compress
from lstmkit.apps.deploy.distill_lm import DistillSettings
from lstmkit.apps.deploy.examples import LMLogits
from lstmkit.apps.deploy.job import ExportJobConfig, export
from lstmkit.apps.deploy.models import COMPRESSED, hidden_sizes, load_model, method_transform
from lstmkit.apps.forecasting.base import Forecast
from lstmkit.apps.forecasting.estimator import Forecaster
from lstmkit.apps.language.bundle import load_bundle
from lstmkit.apps.language.lm import LanguageModel
from lstmkit.cli import main
from lstmkit.compress import QuantizedLSTM


def test_export_onnx_forecaster_ensemble(forecaster_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "fc.onnx"
    result = export(ExportJobConfig(str(forecaster_file), "onnx", output=str(out)))
    assert [p.name for p in result.files] == ["fc.member0.onnx", "fc.member1.onnx"]
    side = json.loads(result.sidecar.read_text())
    assert side["kind"] == "forecaster" and side["files"] == ["fc.member0.onnx", "fc.member1.onnx"]
    assert "stats" in side["preprocessing"] and side["ensemble"]
    loaded = load_model(forecaster_file)
    past, future = (
        torch.randn(5, 8, side["inputs"][0]["example_shape"][2]),
        torch.randn(5, 4, side["inputs"][1]["example_shape"][2]),
    )
    for path, net in zip(result.files, loaded.nets):
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (got,) = session.run(None, {"past": past.numpy(), "future": future.numpy()})
        with torch.no_grad():
            want = net(past, future).numpy()
        assert np.abs(got - want).max() <= 1e-5


def test_export_lm_onnx_and_program(lm_file: Path, tmp_path: Path) -> None:
    result = export(ExportJobConfig(str(lm_file), "onnx", output=str(tmp_path / "lm.onnx")))
    vocab = json.loads((tmp_path / "lm.onnx.vocab.json").read_text())
    assert vocab["kind"] == "char"
    lm = load_model(lm_file).nets[0]
    assert isinstance(lm, LanguageModel)
    tokens = torch.randint(0, lm.vocab_size, (3, 11))  # another batch and length than traced
    session = ort.InferenceSession(str(result.files[0]), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"tokens": tokens.numpy()})
    with torch.no_grad():
        want, _ = lm(tokens)
        assert (LMLogits(lm).eval()(tokens) - want).abs().max() <= 1e-6  # the traced view is the eval forward
    assert np.abs(got - want.numpy()).max() <= 1e-5
    program = export(ExportJobConfig(str(lm_file), "exported-program", output=str(tmp_path / "lm.pt2")))
    module = torch.export.load(program.files[0]).module()
    assert (module(tokens) - want).abs().max() <= 1e-5


def test_quantize_forecaster_predicts_through_the_app(forecaster_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "q.pt"
    result = compress(CompressJobConfig(str(forecaster_file), "quantize", output=str(out)))
    assert result.max_diff is not None and 0 < result.max_diff < 0.1
    loaded = load_model(out)
    encoder = loaded.nets[0].get_submodule("encoder.layer")  # the LSTM in the SequenceEncoder
    assert loaded.method == {"name": "quantize"} and isinstance(encoder, QuantizedLSTM)
    assert isinstance(loaded.estimator, Forecaster)
    fc = loaded.estimator.predict(series=SERIES)
    want = Forecaster.load(forecaster_file).predict(series=SERIES)
    assert isinstance(fc, Forecast) and isinstance(want, Forecast)
    assert np.abs(fc.point - want.point).max() < 0.05 * np.abs(want.point).max()
    with pytest.raises(FileExistsError, match="--overwrite"):
        compress(CompressJobConfig(str(forecaster_file), "quantize", output=str(out)))


def test_prune_files_load_in_their_apps(forecaster_file: Path, lm_file: Path, tmp_path: Path) -> None:
    # magnitude: the app's own kind
    out = tmp_path / "fc.pruned.pt"
    compress(CompressJobConfig(str(forecaster_file), "prune", amount=0.5, output=str(out)))
    model = Forecaster.load(out)
    weight = model.nets_[0].encoder.layer.weight_hh_l0  # a SequenceEncoder holding the LSTM
    assert 0.45 <= float((weight == 0).float().mean()) <= 0.55
    # structured, language model: a textgen file with the new hidden size
    out = tmp_path / "lm.units.pt"
    result = compress(CompressJobConfig(str(lm_file), "prune", amount=0.5, structured=True, output=str(out)))
    bundle, _ = load_bundle(out, "lm")
    assert bundle["config"]["hidden_size"] == 6
    lm = LanguageModel(**bundle["config"])
    lm.load_state_dict(bundle["model"])
    assert result.rows[1][4] == "6"
    # structured, direct forecaster: its head's width is not in the config -> a compressed file
    out = tmp_path / "fc.units.pt"
    compress(CompressJobConfig(str(forecaster_file), "prune", amount=0.5, structured=True, output=str(out)))
    assert torch.load(out, weights_only=True)["format"] == COMPRESSED
    assert hidden_sizes(load_model(out).nets[0]) == [4]


def test_older_pruned_files_name_the_forecasters_lstm_encoder(forecaster_file: Path) -> None:
    # files written before the forecaster's LSTM sat in a SequenceEncoder named it "encoder"
    older = {"name": "prune-units", "amount": 0.5, "consumers": {"encoder": ["head.0", 0]}}
    transform = method_transform(older)
    assert transform is not None
    assert hidden_sizes(transform(load_model(forecaster_file).nets[0])) == [4]


def test_distill_char_lm(lm_file: Path, tmp_path: Path) -> None:
    text = tmp_path / "text.txt"
    text.write_text(TEXT)
    out = tmp_path / "student.pt"
    settings = DistillSettings(hidden=4, text_file=str(text), batch_size=4, bptt=16)
    result = compress(CompressJobConfig(str(lm_file), "distill", output=str(out), distill=settings))
    bundle, toks = load_bundle(out, "lm")
    assert bundle["config"]["hidden_size"] == 4 and len(toks["text"]) == bundle["config"]["vocab_size"]
    assert result.rows[1][-1] != "nan"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["export", "--format", "onnx", "--quantize", "int8"],
            "--quantize int8 with --format onnx: unsupported",
        ),
        (
            ["export", "--format", "exported-program", "--quantize", "int8"],
            "--quantize int8 with --format exported-program: unsupported",
        ),
        (["compress", "--method", "distill"], "--method distill: supported for textgen language models only"),
        (["compress", "--method", "quantize", "--structured"], "--structured: only with --method prune"),
    ],
)
def test_unsupported_combinations(
    forecaster_file: Path, argv: list[str], message: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert main([*argv, "--checkpoint", str(forecaster_file)]) == 1
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and message in errors[0].getMessage() and errors[0].exc_info is None
    assert "\n" not in errors[0].getMessage()


def test_missing_and_foreign_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert main(["export", "--checkpoint", str(tmp_path / "none.pt")]) == 1
    assert "no such file" in caplog.records[-1].getMessage()
    foreign = tmp_path / "foreign.pt"
    torch.save({"format": "something-else", "weights": torch.zeros(2)}, foreign)
    assert main(["compress", "--checkpoint", str(foreign), "--method", "quantize"]) == 1
    record = caplog.records[-1]
    assert "is not an lstmkit model file" in record.getMessage() and record.exc_info is None


def test_unknown_format(forecaster_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--format", "tflite", "--checkpoint", str(forecaster_file)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'tflite'" in err and "onnx" in err and "exported-program" in err
