"""Distillation: the losses equal a hand computation and vanish where the student is the
teacher; a small student distilled from a trained LSTM classifier gets close to it while an
untrained one is at chance; a forecaster's student learns the teacher's quantiles."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from lstmkit.apps.forecasting.base import LEVELS
from lstmkit.apps.forecasting.model import ForecastNet
from lstmkit.compress.distillation import distill, distillation_loss, quantile_distillation_loss
from lstmkit.core.layers import LSTM
from lstmkit.fit import TrainConfig, Trainer, accuracy, sequence_cross_entropy


# ---------------------------------------------------------------------- the losses
def _softmax(row: list[float], temperature: float) -> list[float]:
    e = [math.exp(v / temperature) for v in row]
    return [v / sum(e) for v in e]


def test_the_loss_equals_a_hand_computation() -> None:
    s = [[1.0, -0.5, 0.2], [0.3, 0.3, -1.0]]
    t = [[2.0, 0.0, -1.0], [-0.2, 0.9, 0.1]]
    y = [0, 1]
    temperature, alpha = 2.0, 0.3
    kl = ce = 0.0
    for srow, trow, label in zip(s, t, y):
        p_s, p_t = _softmax(srow, temperature), _softmax(trow, temperature)
        kl += sum(pt * math.log(pt / ps) for pt, ps in zip(p_t, p_s)) / 2
        ce += -math.log(_softmax(srow, 1.0)[label]) / 2
    expected = alpha * temperature**2 * kl + (1 - alpha) * ce
    got = distillation_loss(
        torch.tensor(s, dtype=torch.float64),
        torch.tensor(t, dtype=torch.float64),
        torch.tensor(y),
        temperature=temperature,
        alpha=alpha,
    )
    assert float(got) == pytest.approx(expected, rel=1e-12)


def test_language_model_tokens_and_padding() -> None:
    s, t = torch.randn(2, 4, 5, dtype=torch.float64), torch.randn(2, 4, 5, dtype=torch.float64)
    y = torch.tensor([[1, 2, 3, -100], [0, 4, -100, -100]])
    got = distillation_loss(s, t, y, temperature=1.5, alpha=0.6)
    real = y != -100
    per_token = [
        distillation_loss(s[i, j : j + 1], t[i, j : j + 1], y[i, j : j + 1], temperature=1.5, alpha=0.6)
        for i, j in real.nonzero().tolist()
    ]
    assert float(got) == pytest.approx(float(torch.stack(per_token).mean()), rel=1e-12)
    hard = distillation_loss(s, t, y, alpha=0.0)
    assert float(hard) == pytest.approx(float(sequence_cross_entropy(s, y)), rel=1e-12)


def test_the_soft_terms_vanish_where_the_student_is_the_teacher() -> None:
    logits, y = torch.randn(6, 4, dtype=torch.float64), torch.randint(0, 4, (6,))
    assert float(distillation_loss(logits, logits.clone(), y, alpha=1.0, temperature=3.0)) == pytest.approx(
        0.0, abs=1e-14
    )
    half = distillation_loss(logits, logits.clone(), y, alpha=0.5)
    assert float(half) == pytest.approx(0.5 * float(nn.functional.cross_entropy(logits, y)), rel=1e-12)
    q = torch.randn(3, 2, len(LEVELS), dtype=torch.float64).sort(-1).values
    target = torch.randn(3, 2, dtype=torch.float64)
    assert float(quantile_distillation_loss(q, q.clone(), target, LEVELS, alpha=1.0)) == 0.0


def test_the_quantile_loss_equals_a_hand_computation() -> None:
    levels = [0.1, 0.5, 0.9]
    student = torch.tensor([[0.0, 1.0, 2.0]], dtype=torch.float64)
    teacher = torch.tensor([[1.0, 1.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([3.0], dtype=torch.float64)

    def rho(q: float, e: float) -> float:
        return max(q * e, (q - 1) * e)

    soft = sum(rho(q, t - s) for q, t, s in zip(levels, [1.0, 1.0, 1.0], [0.0, 1.0, 2.0])) / 3
    hard = sum(rho(q, 3.0 - s) for q, s in zip(levels, [0.0, 1.0, 2.0])) / 3
    got = quantile_distillation_loss(student, teacher, y, levels, alpha=0.25)
    assert float(got) == pytest.approx(0.25 * soft + 0.75 * hard, rel=1e-12)


# ---------------------------------------------------------------------- distillation on the Trainer
class Classifier(nn.Module):
    """An LSTM over the steps, a linear layer on its last state."""

    def __init__(self, hidden: int, classes: int = 4) -> None:
        super().__init__()
        self.lstm = LSTM(classes, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.lstm(x)[1].h[-1])  # (N, K)


def _task(n: int, seed: int) -> TensorDataset:
    """Sequences of 4 noisy channels; the class is the channel with the largest sum."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 10, 4, generator=g)
    return TensorDataset(x, x.sum(1).argmax(-1))


def _accuracy(model: nn.Module, data: TensorDataset) -> float:
    x, y = data.tensors
    with torch.no_grad():
        return float((model.eval()(x).argmax(-1) == y).double().mean())


@pytest.mark.slow
def test_a_small_student_learns_from_the_teacher() -> None:
    train, test = _task(1024, 0), _task(512, 1)
    teacher = Classifier(32)
    config = TrainConfig(lr=1e-2, max_epochs=15, progress=False, plot=False)
    Trainer(teacher, config, loss_fn=nn.functional.cross_entropy).fit(DataLoader(train, 64, shuffle=True))
    teacher_acc = _accuracy(teacher, test)
    teacher.zero_grad(set_to_none=True)
    student = Classifier(8)  # a quarter of the teacher's units, a tenth of its weights
    untrained = _accuracy(student, test)
    history = distill(
        teacher,
        student,
        train,
        task="classification",
        temperature=2.0,
        alpha=0.7,
        epochs=15,
        lr=1e-2,
        batch_size=64,
        val_data=test,
        metrics={"acc": accuracy},
    )
    assert teacher_acc > 0.8
    assert untrained < 0.4  # chance: 0.25
    assert _accuracy(student, test) >= 0.9 * teacher_acc
    assert history["val_acc"][-1] == pytest.approx(_accuracy(student, test), abs=0.05)
    assert not teacher.training and all(p.grad is None for p in teacher.parameters())


def test_a_copy_of_the_teacher_has_nothing_to_learn() -> None:
    teacher = Classifier(8)
    before = copy.deepcopy(teacher.state_dict())
    student = copy.deepcopy(teacher)
    data = _task(64, 0)
    history = distill(teacher, student, data, task="classification", alpha=1.0, epochs=2, optimizer="sgd")
    assert max(history["train_loss"]) == pytest.approx(0.0, abs=1e-5)
    for name, value in student.state_dict().items():
        assert torch.allclose(value, before[name], atol=1e-6), name  # zero gradients: no update
    for name, value in teacher.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_a_forecaster_learns_the_teachers_quantiles() -> None:
    torch.manual_seed(0)
    teacher = ForecastNet(2, 1, 3, hidden_size=16)
    student = ForecastNet(2, 1, 3, hidden_size=4)
    g = torch.Generator().manual_seed(0)
    past, future, y = (
        torch.randn(128, 12, 2, generator=g),
        torch.randn(128, 3, 1, generator=g),
        torch.randn(128, 3, generator=g),
    )
    data = [(past[i : i + 32], future[i : i + 32], y[i : i + 32]) for i in range(0, 128, 32)]

    def gap() -> float:
        with torch.no_grad():
            return float((student.eval()(past, future) - teacher.eval()(past, future)).abs().mean())

    before = gap()
    history = distill(
        teacher, student, data, task="quantile", quantiles=LEVELS, alpha=1.0, epochs=15, lr=1e-2
    )
    assert gap() < 0.5 * before
    assert history["train_loss"][-1] < history["train_loss"][0]


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"task": "regression"}, ValueError, "task: expected one of"),
        ({"task": "classification", "temperature": 0.0}, ValueError, "temperature: expected a number > 0"),
        ({"task": "classification", "alpha": 1.5}, ValueError, r"alpha: expected a weight in \[0, 1\]"),
        ({"task": "classification", "alpha": float("nan")}, ValueError, "alpha: expected a finite number"),
        ({"task": "quantile"}, ValueError, "quantiles: task='quantile' needs"),
        ({"task": "classification", "max_epochs": 3}, ValueError, "max_epochs: pass epochs="),
        ({"task": "classification", "optimiser": "sgd"}, ValueError, r"settings: \['optimiser'\]"),
        ({"task": "classification", "tbptt_k1": 5}, ValueError, "tbptt_k1: distillation"),
    ],
)
def test_the_arguments_are_checked(arguments: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        distill(Classifier(4), Classifier(2), _task(8, 0), **arguments)


def test_the_teacher_is_not_the_student() -> None:
    model = Classifier(4)
    with pytest.raises(ValueError, match="student: expected another module"):
        distill(model, model, _task(8, 0), task="classification")
