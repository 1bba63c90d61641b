"""The modules users hold: recurrent layers and their regularizers."""

from lstmkit.core.layers.gru import GRU, RNN
from lstmkit.core.layers.lstm import LSTM
from lstmkit.core.layers.recurrent import Recurrent

__all__ = ["GRU", "LSTM", "RNN", "Recurrent"]
