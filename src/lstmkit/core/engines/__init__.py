"""The engines that run one layer and direction of a recurrent network over a sequence.

One protocol (:mod:`lstmkit.core.engines.base`: a :class:`Call` in, a
:class:`~lstmkit.core.scan.RunResult` out) and one policy table that picks the engine of each
call (:mod:`lstmkit.core.engines.select`):

* ``reference`` (:mod:`~lstmkit.core.engines.reference`): the plain loop over
  :func:`lstmkit.core.scan.scan`, any cell;
* ``native`` (:mod:`~lstmkit.core.engines.native`): torch's own kernels, :func:`lstm_native`;
* ``fused`` (:mod:`~lstmkit.core.engines.fused_engine`): lstmkit's C++ kernels for the LSTM
  family, :func:`lstm_fused`, and :class:`LSTMStream` for step-by-step inference
  (``lstmkit.LSTM.stream``).

See docs/performance.md for their speed.
"""

from lstmkit.core.engines.base import Call, Engine, Regularizers
from lstmkit.core.engines.fused.binding import lstm_fused
from lstmkit.core.engines.fused.stream import LSTMStream
from lstmkit.core.engines.native import lstm_native
from lstmkit.core.engines.select import ENGINES, POLICY, run_call

__all__ = [
    "ENGINES",
    "POLICY",
    "Call",
    "Engine",
    "LSTMStream",
    "Regularizers",
    "lstm_fused",
    "lstm_native",
    "run_call",
]
