"""Equivalences of the reference runner and the layers built on it.

masked padded batch == each sequence alone; chunked streaming with carried state == whole
sequence; reverse == flipping each sequence within its length by hand; runner == a manual loop
of the cell.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from tests.helpers import assert_close

from lstmkit import GRU, LSTM, scan
from lstmkit.core.cells import GRUParams, gru_cell
from lstmkit.core.scan import lengths_to_mask, time_mask

LAYERS = [{"variant": name} for name in ("classic", "vanilla", "cifg", "fgr", "original1997", "nog")] + [
    {"variant": "vanilla", "layer_norm": True, "proj_size": 3},
    {"variant": "classic", "num_layers": 2, "bidirectional": True},
    {"variant": "fgr", "bidirectional": True},
    {"variant": "classic", "zoneout": 0.3},  # evaluation mode: deterministic blend
]


def _ids(cases):
    return ["-".join(f"{k}={v}" for k, v in c.items()) for c in cases]


@pytest.mark.parametrize("kwargs", LAYERS, ids=_ids(LAYERS))
def test_padded_batch_equals_each_sequence_alone(kwargs: dict) -> None:
    layer = LSTM(3, 5, dtype=torch.float64, **kwargs).eval()
    lengths = torch.tensor([6, 1, 4, 6, 3])
    x = torch.randn(6, 5, 3, dtype=torch.float64)
    x[lengths_to_mask(lengths, 6).logical_not()] = 1e3  # garbage in the padding must not leak
    out, state, cells = layer(x, lengths=lengths, return_cell_states=True)
    for n, length in enumerate(lengths.tolist()):
        alone_out, alone_state, alone_cells = layer(x[:length, n : n + 1], return_cell_states=True)
        assert_close(out[:length, n : n + 1], alone_out, 1e-12, f"output of sequence {n}")
        assert torch.all(out[length:, n] == 0), "padded outputs must be zero"
        assert torch.all(cells[length:, n] == 0), "padded cell states must be zero"
        assert_close(cells[:length, n : n + 1], alone_cells, 1e-12, f"cell states of sequence {n}")
        for field, alone in zip(state, alone_state):
            assert_close(field[:, n : n + 1], alone, 1e-12, f"final state of sequence {n}")


@pytest.mark.parametrize("kwargs", LAYERS[:7] + LAYERS[9:], ids=_ids(LAYERS[:7] + LAYERS[9:]))
def test_chunked_streaming_equals_whole_sequence(kwargs: dict) -> None:
    layer = LSTM(3, 5, num_layers=2, dtype=torch.float64, **kwargs).eval()
    x = torch.randn(10, 2, 3, dtype=torch.float64)
    whole, whole_state = layer(x)
    state, outs = None, []
    for chunk in x.split([3, 1, 4, 2]):
        out, state = layer(chunk, state)
        outs.append(out)
    assert_close(torch.cat(outs), whole, 1e-12, "chunked output")
    for a, b in zip(state, whole_state):
        assert_close(a, b, 1e-12, "chunked final state")
    # one step at a time through layer.step
    state, steps = None, []
    for x_t in x:
        y, state = layer.step(x_t, state)
        steps.append(y)
    assert_close(torch.stack(steps), whole, 1e-12, "step-by-step output")


def test_step_batch_first_and_unbatched() -> None:
    layer = LSTM(3, 4, batch_first=True, dtype=torch.float64)
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    whole, _ = layer(x)
    y, _ = layer.step(x[:, 0])
    assert_close(y, whole[:, 0], 1e-12, "batch-first step")
    y1, state1 = layer.step(x[0, 0])
    assert y1.shape == (4,) and state1.h.shape == (1, 4)
    assert_close(y1, whole[0, 0], 1e-12, "unbatched step")
    with pytest.raises(ValueError, match="bidirectional"):
        LSTM(3, 4, bidirectional=True).step(torch.randn(2, 3))


def _flip_within_lengths(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    out = x.clone()
    for n, length in enumerate(lengths.tolist()):
        out[:length, n] = x[:length, n].flip(0)
    return out


@pytest.mark.parametrize("variant", ["classic", "fgr", "cifg"])
def test_reverse_direction_equals_flipping_by_hand(variant: str) -> None:
    bi = LSTM(3, 4, variant=variant, bidirectional=True, dtype=torch.float64)
    fwd_only = LSTM(3, 4, variant=variant, dtype=torch.float64)
    with torch.no_grad():  # the reverse direction's weights in a forward-only layer
        for name, p in fwd_only.named_parameters():
            p.copy_(getattr(bi, name + "_reverse"))
    lengths = torch.tensor([5, 2, 4])
    x = torch.randn(5, 3, 3, dtype=torch.float64)
    out, state = bi(x, lengths=lengths)
    flipped_out, flipped_state = fwd_only(_flip_within_lengths(x, lengths), lengths=lengths)
    assert_close(out[..., 4:], _flip_within_lengths(flipped_out, lengths), 1e-12, "reverse output")
    assert_close(state.h[1], flipped_state.h[0], 1e-12, "reverse final h")
    assert_close(state.c[1], flipped_state.c[0], 1e-12, "reverse final c")


def test_runner_equals_manual_loop_and_general_masks() -> None:
    p = GRUParams(*(torch.randn(s, dtype=torch.float64) for s in ((12, 3), (12, 4), (12,), (12,))))

    def step(x, h):
        return gru_cell(x, h, p)

    x = torch.randn(6, 2, 3, dtype=torch.float64)
    h = torch.zeros(2, 4, dtype=torch.float64)
    res = scan(step, x, h, return_states=True)
    manual = []
    for x_t in x:
        h = step(x_t, h)
        manual.append(h)
    assert_close(res.output, torch.stack(manual), 0.0, "runner vs loop")
    assert_close(res.states, torch.stack(manual), 0.0, "all states")
    # batch_first layout
    res_bf = scan(step, x.transpose(0, 1), torch.zeros(2, 4, dtype=torch.float64), batch_first=True)
    assert_close(res_bf.output.transpose(0, 1), res.output, 0.0, "batch_first")
    # a mask that is not a prefix (left padding): same as running the real steps only
    mask = torch.tensor(
        [[False, True], [False, True], [True, True], [True, True], [True, True], [True, True]]
    )
    masked = scan(step, x, torch.zeros(2, 4, dtype=torch.float64), mask=mask)
    alone = scan(step, x[2:, :1], torch.zeros(1, 4, dtype=torch.float64))
    assert_close(masked.output[2:, :1], alone.output, 1e-12, "left-padded sequence")
    assert torch.all(masked.output[:2, 0] == 0)
    assert_close(masked.state[:1], alone.state, 1e-12, "left-padded final state")


@pytest.mark.parametrize("engine", ["reference", "native"])
def test_gru_padded_batch_equals_alone(engine: str) -> None:
    layer = GRU(3, 4, num_layers=2, bidirectional=True, engine=engine, dtype=torch.float64)
    x = torch.randn(5, 3, 3, dtype=torch.float64)
    lengths = torch.tensor([5, 2, 3])
    out, h = layer(x, lengths=lengths)
    for n, length in enumerate(lengths.tolist()):
        o, hn = layer(x[:length, n : n + 1])
        assert_close(out[:length, n : n + 1], o, 1e-12, "GRU output")
        assert_close(h[:, n : n + 1], hn, 1e-12, "GRU h_n")


def test_time_mask_from_lengths_or_mask() -> None:
    mask = time_mask([3, 1], None, 3, 2, torch.device("cpu"))
    assert mask is not None and mask.tolist() == [[True, True], [True, False], [True, False]]
    assert time_mask(None, None, 3, 2, torch.device("cpu")) is None
    assert torch.equal(time_mask(None, mask, 3, 2, torch.device("cpu")), mask)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="give one of them"):
        time_mask([3, 1], mask, 3, 2, torch.device("cpu"))
    with pytest.raises(ValueError, match=r"mask: expected shape \(L, N\) = \(3, 2\)"):
        time_mask(None, mask.t(), 3, 2, torch.device("cpu"))


def test_lstmkit_run_is_scan_with_one_deprecation_warning() -> None:
    import lstmkit

    lstmkit._warned_run = False  # type: ignore[attr-defined]
    with pytest.warns(DeprecationWarning, match=r"lstmkit.run is deprecated.*lstmkit.scan"):
        assert lstmkit.run is scan  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lstmkit.run is scan  # type: ignore[attr-defined]
    assert "scan" in lstmkit.__all__ and "run" not in lstmkit.__all__
