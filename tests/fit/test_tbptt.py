"""Truncated BPTT: the window plan, and gradients against hand-written truncations."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from lstmkit import detach_state
from lstmkit.core.cells import LSTMState
from lstmkit.core.layers import LSTM
from lstmkit.fit import Callback, TrainConfig, Trainer, masked_mse, tbptt_windows
from lstmkit.fit.tbptt import decode_state, encode_state, window_pieces


class Stateful(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = LSTM(2, 5, batch_first=True, dtype=torch.float64)
        self.head = nn.Linear(5, 1, dtype=torch.float64)

    def forward(self, x, state=None):
        out, state = self.lstm(x, state)
        return self.head(out).squeeze(-1), state


class GradLog(Callback):
    def __init__(self) -> None:
        self.grads: list[dict[str, torch.Tensor]] = []

    def on_before_optimizer_step(self, trainer):
        self.grads.append(
            {k: p.grad.clone() for k, p in trainer.model.named_parameters() if p.grad is not None}
        )


@pytest.mark.parametrize(("length", "k1", "k2"), [(10, 3, 3), (10, 3, 5), (10, 4, 9), (7, 7, 7), (9, 2, 20)])
def test_window_plan(length, k1, k2):
    windows = tbptt_windows(length, k1, k2)
    covered = [t for w in windows for t in range(w.loss_start, w.stop)]
    assert covered == list(range(length))  # every step's loss exactly once, in order
    for u, w in enumerate(windows):
        assert w.stop - w.loss_start <= k1
        assert w.graph_start == max(0, w.stop - k2)  # the backward reaches k2 steps back
        nxt = windows[u + 1].graph_start if u + 1 < len(windows) else w.stop
        assert w.next_graph_start == nxt and w.graph_start <= nxt <= w.stop
        pieces = window_pieces(w)
        assert pieces[0].start == w.graph_start and pieces[-1].stop == w.stop
        assert all(a.stop == b.start for a, b in itertools.pairwise(pieces))
        assert next(p.start for p in pieces if p.in_loss) == w.loss_start
    with pytest.raises(ValueError, match="k1 <= k2"):
        tbptt_windows(10, 4, 2)


def _manual_grads(model, x, y, k1, k2):
    """Each update's gradients by hand: run from the start without a graph to step s = t - k2,
    then with a graph to t; the loss is the mean over [t - k1, t) (lr = 0 keeps weights fixed)."""
    length = x.shape[1]
    grads = []
    for w in tbptt_windows(length, k1, k2):
        model.zero_grad()
        state = None
        if w.graph_start > 0:
            with torch.no_grad():
                _, state = model(x[:, : w.graph_start], None)
        pred, _ = model(x[:, w.graph_start : w.stop], state)
        offset = w.loss_start - w.graph_start
        loss = ((pred[:, offset:] - y[:, w.loss_start : w.stop]) ** 2).mean()
        loss.backward()
        grads.append({k: p.grad.clone() for k, p in model.named_parameters()})
    return grads


@pytest.mark.parametrize(("k1", "k2"), [(12, 12), (4, 4), (3, 7), (5, 8)])
def test_tbptt_gradients_match_hand_truncation(k1, k2):
    torch.manual_seed(0)
    model = Stateful()
    x = torch.randn(3, 12, 2, dtype=torch.float64)
    y = torch.randn(3, 12, dtype=torch.float64)
    log = GradLog()
    cfg = TrainConfig(tbptt_k1=k1, tbptt_k2=k2, max_epochs=1, progress=False, plot=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    Trainer(model, cfg, loss_fn=masked_mse, optimizer=opt, callbacks=[log]).fit([(x, y)])
    expected = _manual_grads(model, x, y, k1, k2)
    assert len(log.grads) == len(expected) == -(-12 // k1)
    for got, want in zip(log.grads, expected):
        for name in want:
            torch.testing.assert_close(got[name], want[name], rtol=1e-10, atol=1e-12)


def test_tbptt_with_k1_equal_to_length_is_full_bptt():
    torch.manual_seed(1)
    model = Stateful()
    x = torch.randn(4, 9, 2, dtype=torch.float64)
    y = torch.randn(4, 9, dtype=torch.float64)
    grads = {}
    for k1 in (None, 9):
        log = GradLog()
        cfg = TrainConfig(tbptt_k1=k1, max_epochs=1, progress=False, plot=False)
        opt = torch.optim.SGD(model.parameters(), lr=0.0)
        Trainer(model, cfg, loss_fn=masked_mse, optimizer=opt, callbacks=[log]).fit([(x, y)])
        grads[k1] = log.grads
    model.zero_grad()
    pred, _ = model(x)
    ((pred - y) ** 2).mean().backward()
    assert len(grads[9]) == len(grads[None]) == 1
    for name, p in model.named_parameters():
        torch.testing.assert_close(grads[9][0][name], p.grad, rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(grads[None][0][name], p.grad, rtol=1e-12, atol=1e-14)


def test_chunked_evaluation_equals_the_whole_sequence():
    torch.manual_seed(2)
    model = Stateful()
    x = torch.randn(2, 11, 2, dtype=torch.float64)
    y = torch.randn(2, 11, dtype=torch.float64)
    cfg = TrainConfig(tbptt_k1=4, max_epochs=1, progress=False, plot=False)
    trainer = Trainer(model, cfg, loss_fn=masked_mse)
    res = trainer.evaluate([(x, y)])
    with torch.no_grad():
        pred, _ = model(x)
    assert res["loss"] == pytest.approx(float(((pred - y) ** 2).mean()), rel=1e-12)
    torch.testing.assert_close(trainer.predict([(x, y)])[0], pred)


def test_state_encoding_roundtrip():
    h, c = torch.randn(1, 2, 3), torch.randn(1, 2, 3)
    state = [LSTMState(h, c), {"extra": (h,)}]
    enc = encode_state(state)
    assert not isinstance(enc[0], tuple)  # plain containers only
    dec = decode_state(enc)
    assert isinstance(dec[0], LSTMState) and torch.equal(dec[0].c, c) and torch.equal(dec[1]["extra"][0], h)
    d = detach_state([LSTMState(h.requires_grad_(), c)])
    assert not d[0].h.requires_grad and isinstance(d[0], LSTMState)


@pytest.mark.parametrize("k1,k2,length", [(5, 7, 10), (4, 4, 11)])
def test_a_bare_chunk_loss_is_weighted_by_its_steps(k1, k2, length):
    """A step returning only its chunk's mean loss: a window whose loss span is cut into chunks of
    different lengths still logs (and minimizes) the mean over the span's steps."""

    class Scale(nn.Module):  # pred_t = w * x_t; the state passes through
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(()))

        def forward(self, x, state=None):
            return self.w * x, state

    def step(model, chunk, state):
        x, y = chunk
        pred, state = model(x, state)
        return ((pred - y) ** 2).mean(), state

    y = torch.arange(float(length)).pow(2)[None]  # per-step loss at w = 0: y_t^2
    cfg = TrainConfig(optimizer="sgd", lr=1e-30, max_epochs=1, tbptt_k1=k1, tbptt_k2=k2, progress=False,
                      plot=False)  # fmt: skip
    h = Trainer(Scale(), cfg, step=step).fit([(torch.zeros(1, length), y)])
    windows = list(tbptt_windows(length, k1, k2))
    assert len(h.losses) == len(windows)
    for w, logged in zip(windows, h.losses):
        assert logged == pytest.approx(float((y[0, w.loss_start : w.stop] ** 2).mean()))


def test_a_window_of_padding_only_makes_no_update():
    """A TBPTT window whose steps are all padding (weight 0) must not step the optimizer: Adam
    would still move every weight by its momentum."""
    from lstmkit.fit import StepOutput

    def step(model, chunk, state):
        x, y, m = chunk
        pred, state = model(x, state)
        return StepOutput(masked_mse(pred, y, m), weight=float(m.sum())), state

    torch.manual_seed(0)
    x, y = torch.randn(3, 8, 2, dtype=torch.float64), torch.randn(3, 8, dtype=torch.float64)
    mask = torch.zeros(3, 8, dtype=torch.bool)
    mask[:, :4] = True  # steps 4..7, the second window, are padding in every sequence
    cfg = TrainConfig(optimizer="adam", lr=0.01, max_epochs=3, tbptt_k1=4, progress=False, plot=False)
    torch.manual_seed(1)
    padded = Stateful()
    h = Trainer(padded, cfg, step=step).fit([(x, y, mask)])
    torch.manual_seed(1)
    short = Stateful()
    Trainer(short, cfg, step=step).fit([(x[:, :4], y[:, :4], mask[:, :4])])
    for a, b in zip(padded.parameters(), short.parameters()):
        torch.testing.assert_close(a, b)
    assert len(h.losses) == 3  # one update per epoch, not two


def test_a_batch_of_padding_only_makes_no_update():
    """The same without TBPTT: a whole batch of weight 0 is skipped, not stepped."""
    from lstmkit.fit import StepOutput

    def step(model, batch):
        x, y, m = batch
        pred, _ = model(x)
        return StepOutput(masked_mse(pred, y, m), weight=float(m.sum()))

    torch.manual_seed(0)
    x, y = torch.randn(3, 5, 2, dtype=torch.float64), torch.randn(3, 5, dtype=torch.float64)
    real = (x, y, torch.ones(3, 5, dtype=torch.bool))
    padding = (x, y, torch.zeros(3, 5, dtype=torch.bool))
    cfg = TrainConfig(optimizer="adam", lr=0.01, max_epochs=2, progress=False, plot=False)
    torch.manual_seed(1)
    a = Stateful()
    h = Trainer(a, cfg, step=step).fit([real, padding])
    torch.manual_seed(1)
    b = Stateful()
    Trainer(b, cfg, step=step).fit([real])
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)
    assert len(h.losses) == 2 and h.epochs[-1]["step"] == 2
