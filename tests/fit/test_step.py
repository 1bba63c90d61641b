"""One step: StepOutput's weights, the default and custom steps, chunks and TBPTT windows."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lstmkit.core.layers import LSTM
from lstmkit.fit import masked_mse
from lstmkit.fit.step import StepOutput, Stepper, check_stateful, to_device
from lstmkit.fit.tbptt import tbptt_windows


class Stateful(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = LSTM(1, 4, batch_first=True)
        self.head = nn.Linear(4, 1)

    def forward(self, x, state=None):
        out, state = self.lstm(x, state)
        return self.head(out).squeeze(-1), state


class Stateless(nn.Module):
    def forward(self, x, state=None):
        return x  # no state returned


def test_step_output_weight_defaults() -> None:
    loss = torch.tensor(1.0)
    assert StepOutput(loss).weight == 1.0
    assert StepOutput(loss, target=torch.zeros(2, 3)).weight == 6.0
    assert StepOutput(loss, target=torch.zeros(2, 3), mask=torch.tensor([True, False])).weight == 1.0
    assert StepOutput(loss, weight=0.0).weight == 0.0
    with pytest.raises(ValueError, match="loss: expected a scalar tensor, got \\(2,\\)"):
        StepOutput(torch.zeros(2))


def test_default_step_takes_the_first_output_and_custom_steps_may_return_a_bare_loss() -> None:
    model = Stateful()
    x, y = torch.randn(3, 5, 1), torch.randn(3, 5)
    out = Stepper(model, loss_fn=masked_mse).step((x, y))
    assert out.output is not None and out.output.shape == (3, 5) and out.weight == 15.0
    bare = Stepper(model, step_fn=lambda m, b: masked_mse(m(b[0])[0], b[1])).step((x, y))
    assert bare.weight == 1.0 and torch.equal(bare.loss, out.loss)
    with pytest.raises(TypeError, match="step: expected the step to return a loss tensor or a StepOutput"):
        Stepper(model, step_fn=lambda m, b: 1.0).step((x, y))
    with pytest.raises(ValueError, match="expects batches \\(x, y\\); got tuple of length 1"):
        Stepper(model, loss_fn=masked_mse).step((x,))


def test_chunks_carry_the_state_and_equal_the_whole_sequence() -> None:
    model = Stateful().eval()
    x, y = torch.randn(2, 10, 1), torch.randn(2, 10)
    stepper = Stepper(model, loss_fn=masked_mse)
    whole, _ = model(x)
    outs, state = stepper.chunks((x, y), 3)
    assert [o.output.shape[1] for o in outs] == [3, 3, 3, 1]  # type: ignore[union-attr]
    torch.testing.assert_close(torch.cat([o.output for o in outs], 1), whole)  # type: ignore[misc]
    assert state.h.shape == (1, 2, 4)
    # a bare chunk loss weighs by the chunk's steps
    bare = Stepper(model, step_fn=lambda m, c, s: (masked_mse(m(c[0], s)[0], c[1]), m(c[0], s)[1]))
    assert [o.weight for o in bare.chunks((x, y), 4)[0]] == [4.0, 4.0, 2.0]


def test_window_loss_is_the_weighted_mean_of_its_loss_pieces() -> None:
    model = Stateful()
    x, y = torch.randn(2, 8, 1), torch.randn(2, 8)
    stepper = Stepper(model, loss_fn=masked_mse)
    (w0, w1) = tbptt_windows(8, 4, 6)
    first, state = stepper.window((x, y), w0, None)
    assert first is not None
    _, loss = first
    torch.testing.assert_close(loss, masked_mse(model(x[:, :4])[0], y[:, :4]))
    assert not state.h.requires_grad  # detached for the next window
    second, _ = stepper.window((x, y), w1, state)
    assert second is not None and second[0].weight == 8.0  # the loss steps 4..8 of 2 sequences


def test_stateful_needs_a_state_argument() -> None:
    check_stateful(Stateful())
    with pytest.raises(TypeError, match="truncated BPTT needs a stateful model"):
        check_stateful(nn.Linear(1, 1))
    with pytest.raises(TypeError, match="model: truncated BPTT needs a stateful model, model\\(x, state\\)"):
        Stepper(Stateless(), loss_fn=masked_mse).stateful((torch.zeros(1, 2), torch.zeros(1, 2)), None)


def test_to_device_moves_every_tensor_of_a_nest() -> None:
    batch = {"x": torch.zeros(2), "more": [torch.ones(1), (torch.ones(1),)]}
    moved = to_device(batch, torch.device("cpu"))
    assert moved["x"] is batch["x"] and moved["more"][1][0] is batch["more"][1][0]
