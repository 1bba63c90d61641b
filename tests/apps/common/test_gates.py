"""The gate section of the run reports (lstmkit.apps.common.gates)."""

from __future__ import annotations

import torch
from torch import nn

import lstmkit
from lstmkit.apps.common.gates import first_lstm, gate_sections, record_first_call


class _EncoderDecoder(nn.Module):
    """A GRU in front, then two LSTMs (encoder, decoder) as the apps' networks hold them."""

    def __init__(self) -> None:
        super().__init__()
        self.pre = lstmkit.GRU(2, 3, batch_first=True)
        self.encoder = lstmkit.LSTM(3, 6, batch_first=True, variant="nig")
        self.decoder = lstmkit.LSTM(1, 6, batch_first=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        z, _ = self.pre(x, lengths=lengths)
        _, state = self.encoder(z, lengths=lengths)
        out, _ = self.decoder(torch.zeros(x.shape[0], 4, 1), state)
        return out


def test_the_first_lstm_is_rerun_on_the_arguments_of_its_first_call(tmp_path) -> None:
    torch.manual_seed(0)
    net = _EncoderDecoder().train()
    x, lengths = torch.randn(3, 9, 2), torch.tensor([9, 5, 2])
    assert first_lstm(net) == ("encoder", net.encoder)
    call = record_first_call(net.encoder, lambda: net(x, lengths))
    assert call is not None and torch.equal(call[1]["lengths"], lengths)
    sections = gate_sections(net, lambda: net(x, lengths), tmp_path, what="the test network")
    assert net.training  # restored after the evaluation-mode call
    [(heading, body)] = sections
    assert heading == "LSTM gates and cell states"
    assert "The layer encoder (LSTM(3, 6" in body and "of the test network" in body
    assert "16 real steps" in body  # 9 + 5 + 2: padding is not counted
    assert "i: constant 1" in body  # NIG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gates_heatmaps.png", "gates_saturation.png"]


def test_no_section_without_an_lstm_or_without_a_call(tmp_path) -> None:
    gru = lstmkit.GRU(2, 3, batch_first=True)
    assert gate_sections(gru, lambda: gru(torch.randn(1, 4, 2)), tmp_path) == []
    net = _EncoderDecoder()
    assert gate_sections(net, lambda: None, tmp_path) == []
    assert list(tmp_path.iterdir()) == []
