"""lstmkit: Long Short-Term Memory networks, complete, correct, fast and practical."""

from typing import TYPE_CHECKING

from lstmkit.cells import VARIANTS, FGRState, LSTMSpec, LSTMState
from lstmkit.engine import detach_state, run
from lstmkit.nn import GRU, LSTM, RNN, Recurrent

if TYPE_CHECKING:
    from lstmkit.models.forecaster import Forecaster

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # Task models load lazily: the core stays importable with torch and numpy only.
    if name == "Forecaster":
        from lstmkit.models.forecaster import Forecaster

        return Forecaster
    raise AttributeError(f"module 'lstmkit' has no attribute {name!r}")


__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "VARIANTS",
    "FGRState",
    "Forecaster",
    "LSTMSpec",
    "LSTMState",
    "Recurrent",
    "__version__",
    "detach_state",
    "run",
]
