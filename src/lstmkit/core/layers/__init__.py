"""The modules users hold: recurrent layers (the convolutional LSTM too), the Bidirectional
combinator, regularizers, attention, and the models they are compared with (Transformer, TCN)
behind one encoder."""

from lstmkit.core.gates import GateTrace
from lstmkit.core.layers.bidirectional import Bidirectional
from lstmkit.core.layers.convlstm import ConvLSTM
from lstmkit.core.layers.encoder import EncoderSettings, SequenceEncoder
from lstmkit.core.layers.gru import GRU
from lstmkit.core.layers.lstm import LSTM
from lstmkit.core.layers.recurrent import Recurrent
from lstmkit.core.layers.rnn import RNN
from lstmkit.core.layers.tcn import TCN
from lstmkit.core.layers.transformer import Transformer

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "TCN",
    "Bidirectional",
    "ConvLSTM",
    "EncoderSettings",
    "GateTrace",
    "Recurrent",
    "SequenceEncoder",
    "Transformer",
]
