"""lstmkit: Long Short-Term Memory networks, complete, correct, fast and practical."""

from lstmkit.cells import VARIANTS, FGRState, LSTMSpec, LSTMState
from lstmkit.engine import detach_state, run
from lstmkit.nn import GRU, LSTM, RNN, Recurrent

__version__ = "0.1.0"

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "VARIANTS",
    "FGRState",
    "LSTMSpec",
    "LSTMState",
    "Recurrent",
    "__version__",
    "detach_state",
    "run",
]
