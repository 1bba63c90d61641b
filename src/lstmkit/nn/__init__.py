"""The modules users hold: recurrent layers and their regularizers."""

from lstmkit.nn.gru import GRU, RNN
from lstmkit.nn.lstm import LSTM
from lstmkit.nn.recurrent import Recurrent

__all__ = ["GRU", "LSTM", "RNN", "Recurrent"]
