"""``lstmkit export`` and ``lstmkit compress --method distill`` on language models of every
architecture: the exported graph equals the eager forward, the student keeps the teacher's
architecture and learns, an impossible student is refused in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from tests.apps.conftest import TEXT

from lstmkit.apps.deploy.compress import CompressJobConfig, compress
from lstmkit.apps.deploy.distill_lm import DistillSettings
from lstmkit.apps.deploy.job import ExportJobConfig, export
from lstmkit.apps.language.bundle import load_bundle, save_bundle
from lstmkit.apps.language.lm import LanguageModel
from lstmkit.apps.language.tokenizers import CharTokenizer

CONTEXT = 32


def _lm_file(folder: Path, architecture: str) -> Path:
    tokenizer = CharTokenizer().fit([TEXT])
    torch.manual_seed(0)
    extra = {"context": CONTEXT, "num_heads": 2} if architecture == "transformer" else {}
    lm = LanguageModel(len(tokenizer), 8, 12, 2, architecture=architecture, **extra).eval()  # type: ignore[arg-type]
    path = folder / f"{architecture}.pt"
    save_bundle(path, kind="lm", model=lm, tokenizers={"text": tokenizer}, extra={"corpus": "toy"})
    return path


@pytest.mark.parametrize("architecture", ["gru", "rnn", "transformer", "tcn"])
def test_export_lm_of_every_architecture(architecture: str, tmp_path: Path) -> None:
    path = _lm_file(tmp_path, architecture)
    bundle, _ = load_bundle(path, "lm")
    lm = LanguageModel(**bundle["config"])
    lm.load_state_dict(bundle["model"])
    lm.eval()
    tokens = torch.randint(0, lm.vocab_size, (3, 11))  # another batch and length than traced
    with torch.no_grad():
        want, _ = lm(tokens)
    onnx = export(ExportJobConfig(str(path), "onnx", output=str(tmp_path / "lm.onnx")))
    session = ort.InferenceSession(str(onnx.files[0]), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"tokens": tokens.numpy()})
    assert np.abs(got - want.numpy()).max() <= 1e-5
    program = export(ExportJobConfig(str(path), "exported-program", output=str(tmp_path / "lm.pt2")))
    module = torch.export.load(program.files[0]).module()
    assert (module(tokens) - want).abs().max() <= 1e-5
    if architecture == "transformer":  # the sidecar says how long a window may be
        assert f"L <= {CONTEXT}" in onnx.sidecar.read_text()


@pytest.mark.parametrize("architecture", ["gru", "transformer"])
def test_distill_keeps_the_teachers_architecture(architecture: str, tmp_path: Path) -> None:
    text = tmp_path / "text.txt"
    text.write_text(TEXT)
    out = tmp_path / "student.pt"
    settings = DistillSettings(hidden=4, text_file=str(text), batch_size=4, bptt=16, epochs=3, lr=1e-2)
    result = compress(CompressJobConfig(str(_lm_file(tmp_path, architecture)), "distill",
                                        output=str(out), distill=settings))  # fmt: skip
    bundle, toks = load_bundle(out, "lm")
    cfg = bundle["config"]
    assert cfg["architecture"] == architecture and cfg["hidden_size"] == 4
    if architecture == "transformer":
        assert cfg["context"] == CONTEXT and cfg["num_heads"] == 2
    teacher_bits, student_bits = float(result.rows[0][-1]), float(result.rows[1][-1])
    uniform = float(np.log2(len(toks["text"])))
    assert student_bits < uniform - 0.5, (student_bits, uniform, teacher_bits)  # it learned


def test_distill_refuses_a_transformer_student_the_heads_do_not_divide(tmp_path: Path) -> None:
    text = tmp_path / "text.txt"
    text.write_text(TEXT)
    settings = DistillSettings(hidden=5, text_file=str(text), batch_size=4, bptt=16)
    config = CompressJobConfig(str(_lm_file(tmp_path, "transformer")), "distill",
                               output=str(tmp_path / "s.pt"), distill=settings)  # fmt: skip
    with pytest.raises(ValueError, match=r"^--hidden: .*2 heads, got 5$"):
        compress(config)
