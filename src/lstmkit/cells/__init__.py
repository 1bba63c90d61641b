"""One time step of one recurrent cell: small pure functions and frozen specs."""

from lstmkit.cells.activations import ACTIVATIONS, Activation, get_activation
from lstmkit.cells.gru import GRUParams, gru_cell, gru_input_projection, gru_param_shapes, gru_step
from lstmkit.cells.lstm import (
    VARIANTS,
    FGRState,
    LSTMParams,
    LSTMSpec,
    LSTMState,
    lstm_cell,
    lstm_initial_state,
    lstm_input_projection,
    lstm_param_shapes,
    lstm_step,
    resolve_variant,
)
from lstmkit.cells.rnn import RNNParams, rnn_cell, rnn_input_projection, rnn_param_shapes, rnn_step

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "get_activation",
    "VARIANTS",
    "LSTMSpec",
    "LSTMState",
    "FGRState",
    "LSTMParams",
    "resolve_variant",
    "lstm_param_shapes",
    "lstm_initial_state",
    "lstm_input_projection",
    "lstm_step",
    "lstm_cell",
    "GRUParams",
    "gru_param_shapes",
    "gru_input_projection",
    "gru_step",
    "gru_cell",
    "RNNParams",
    "rnn_param_shapes",
    "rnn_input_projection",
    "rnn_step",
    "rnn_cell",
]
