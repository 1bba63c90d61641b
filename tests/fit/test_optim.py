"""Schedules and NT-ASGD against their formulas."""

from __future__ import annotations

import math

import pytest
import torch

from lstmkit.fit import NTASGD, LRSchedule, TrainConfig, build_optimizer


def _opt(lr=0.1):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_cosine_with_warmup_follows_the_formula():
    cfg = TrainConfig(lr=0.1, schedule="cosine", warmup_steps=5, min_lr=0.01)
    opt = _opt()
    sched = LRSchedule(opt, cfg, total_steps=25)
    lrs = []
    for _ in range(25):
        lrs.append(opt.param_groups[0]["lr"])
        sched.apply()
    for s in range(25):
        warm = min(1.0, (s + 1) / 5)
        prog = min(max(0, s - 5), 20) / 20
        want = 0.1 * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * prog)))
        assert lrs[s] == pytest.approx(want)
    assert lrs[5] == pytest.approx(0.1) and opt.param_groups[0]["lr"] == pytest.approx(0.01)
    with pytest.raises(ValueError, match="max_steps"):
        LRSchedule(_opt(), cfg, total_steps=None)


def test_plateau_and_state_roundtrip():
    cfg = TrainConfig(lr=0.1, schedule="plateau", plateau_patience=2, gamma=0.5, min_lr=0.02)
    opt = _opt()
    sched = LRSchedule(opt, cfg)
    for v in (1.0, 0.9, 0.95, 0.95):  # two bad validations -> halve
        sched.observe(v, "min")
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
    for _ in range(6):
        sched.observe(2.0, "min")
    assert opt.param_groups[0]["lr"] == pytest.approx(0.02)  # floored at min_lr
    opt2 = _opt()
    clone = LRSchedule(opt2, cfg)
    clone.load_state_dict(sched.state_dict())
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.02) and clone.bad == sched.bad


def test_ntasgd_is_sgd_until_triggered_then_averages():
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(3))
    q = torch.nn.Parameter(p.detach().clone())
    ours = NTASGD([p], lr=0.1, weight_decay=0.01, nonmono=2)
    ref = torch.optim.SGD([q], lr=0.1, weight_decay=0.01)
    grads = [torch.randn(3) for _ in range(6)]
    for g in grads[:3]:
        p.grad, q.grad = g.clone(), g.clone()
        ours.step()
        ref.step()
    torch.testing.assert_close(p.detach(), q.detach())
    assert not ours.observe(3.0) and not ours.observe(2.0) and not ours.observe(2.5)
    assert ours.observe(3.5)  # worse than min(logs[:-2]) = 3.0 -> trigger
    iterates = []
    for g in grads[3:]:
        p.grad = g.clone()
        ours.step()
        iterates.append(p.detach().clone())
    with ours.averaged():
        torch.testing.assert_close(p.detach(), torch.stack(iterates).mean(0))
    torch.testing.assert_close(p.detach(), iterates[-1])  # restored after the block
    sd = ours.state_dict()
    other = NTASGD([torch.nn.Parameter(p.detach().clone())], lr=0.1, nonmono=2)
    other.load_state_dict(sd)
    assert other.averaging and other.avg_steps == 3 and other.logs == ours.logs


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "ntasgd"])
def test_build_optimizer(name):
    p = torch.nn.Parameter(torch.ones(2))
    opt = build_optimizer([p], TrainConfig(optimizer=name, lr=0.01, momentum=0.9 if name == "sgd" else 0.0))
    p.grad = torch.ones(2)
    opt.step()
    assert bool((p < 1).all())
    with pytest.raises(ValueError, match="requires_grad"):
        build_optimizer([torch.nn.Parameter(torch.ones(1), requires_grad=False)], TrainConfig())


def test_clip_gradients_by_value_then_norm() -> None:
    from lstmkit.fit.optim import clip_gradients

    w = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([w], lr=0.1)
    assert clip_gradients(opt) == 0.0  # no gradients yet
    w.grad = torch.tensor([3.0, -4.0])
    assert clip_gradients(opt) == 5.0 and torch.equal(w.grad, torch.tensor([3.0, -4.0]))
    norm = clip_gradients(opt, clip_value=2.0, clip_norm=1.0)
    assert norm == pytest.approx(8**0.5)  # the norm after clipping by value, before by norm
    assert float(w.grad.norm()) == pytest.approx(1.0, rel=1e-5)
