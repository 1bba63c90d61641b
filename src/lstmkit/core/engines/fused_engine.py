"""The fused engine: lstmkit's C++ kernels for the LSTM family, behind the engine protocol.

An adapter over :func:`lstmkit.core.engines.fused.binding.lstm_fused` (every variant and
option, CPU float32/float64, forward and backward in compiled code). What it adds is zoneout:
in training the kernel draws the Bernoulli keep weights itself, from four seeds drawn here
from torch's generator (no (L, N, H) masks to sample or store; the backward pass redraws them),
so under one seed the fused and reference engines draw different, equally distributed masks;
in evaluation it takes zoneout's expectation as the reference loop does.

It also runs the convolutional LSTM (:mod:`lstmkit.core.engines.fused.convlstm`: torch's
convolutions, the gate math in one C++ pass forward and one backward).
"""

from __future__ import annotations

import torch

from lstmkit.core.cells.lstm import LSTMParams, LSTMSpec
from lstmkit.core.engines.base import Call, Unavailable
from lstmkit.core.engines.fused.binding import fused_unsupported, lstm_fused
from lstmkit.core.engines.fused.build import extension_available
from lstmkit.core.engines.fused.convlstm import convlstm_fused, convlstm_fused_unsupported
from lstmkit.core.regularizers import zoneout_keep
from lstmkit.core.scan import RunResult

__all__ = ["FUSED", "FusedEngine"]


class FusedEngine:
    """The fused C++ kernels (see the module docstring)."""

    name = "fused"
    families = frozenset({"lstm", "convlstm"})

    def unsupported(self, call: Call) -> str | None:
        if call.family == "convlstm":
            reason = convlstm_fused_unsupported(call)
        else:
            assert isinstance(call.cell, LSTMSpec)
            reason = fused_unsupported(call.cell, call.x)
        if reason is None and not extension_available():
            return Unavailable("the fused extension is unavailable")
        return reason

    def run(self, call: Call) -> RunResult:
        if call.family == "convlstm":
            return convlstm_fused(call)
        spec, params, regs, x = call.cell, call.params, call.regularizers, call.x
        assert isinstance(spec, LSTMSpec) and isinstance(params, LSTMParams)
        zh, zc = regs.zoneout
        keep_h = keep_c = None
        seeds: list[int] = []
        if (zh or zc) and call.training:
            seeds = torch.randint(0, 2**32, (4,)).tolist()  # the kernel's draws (h: 0-1, c: 2-3)
        elif zh or zc:
            lead = (x.shape[0], x.shape[1])
            keep_h = zoneout_keep((*lead, call.state[0].shape[-1]), zh, False, x.dtype, x.device)
            keep_c = zoneout_keep((*lead, call.state[1].shape[-1]), zc, False, x.dtype, x.device)
        return lstm_fused(
            x,
            call.state,
            params,
            spec,
            x_mask=regs.x_mask,
            h_mask=regs.h_mask,
            keep_h=keep_h,
            keep_c=keep_c,
            zoneout=(zh, zc) if seeds else None,
            seeds=seeds,
            mask=call.mask,
            reverse=call.reverse,
            return_states=call.return_states,
            return_gates=call.return_gates,
        )


FUSED = FusedEngine()
