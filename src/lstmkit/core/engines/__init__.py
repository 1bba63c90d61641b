"""Running cells over sequences: the reference runner, and the fast paths of the LSTM family.

* :func:`run` — the reference runner, any cell (plain PyTorch);
* :func:`lstm_fused` — the fused C++ kernels for every LSTM variant (forward and backward);
* :func:`lstm_native` — torch.nn.LSTM's own kernel for the classic cell;
* :func:`select_engine` — which of them runs a layer call (``engine="auto"``);
* :class:`LSTMStream` — step-by-step inference (``lstmkit.LSTM.stream``).

See docs/performance.md.
"""

from lstmkit.core.engines.fused.binding import lstm_fused
from lstmkit.core.engines.fused.stream import LSTMStream
from lstmkit.core.engines.native import lstm_native
from lstmkit.core.engines.select import ENGINES, select_engine
from lstmkit.core.scan import (
    RunResult,
    State,
    check_lengths,
    detach_state,
    lengths_to_mask,
    map_state,
    run,
    stack_states,
    tree_map,
)

__all__ = [
    "ENGINES",
    "LSTMStream",
    "RunResult",
    "State",
    "check_lengths",
    "detach_state",
    "lengths_to_mask",
    "lstm_fused",
    "lstm_native",
    "map_state",
    "run",
    "select_engine",
    "stack_states",
    "tree_map",
]
