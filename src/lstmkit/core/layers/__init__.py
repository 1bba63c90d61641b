"""The modules users hold: recurrent layers, the Bidirectional combinator, regularizers, attention."""

from lstmkit.core.gates import GateTrace
from lstmkit.core.layers.bidirectional import Bidirectional
from lstmkit.core.layers.gru import GRU
from lstmkit.core.layers.lstm import LSTM
from lstmkit.core.layers.recurrent import Recurrent
from lstmkit.core.layers.rnn import RNN

__all__ = ["GRU", "LSTM", "RNN", "Bidirectional", "GateTrace", "Recurrent"]
