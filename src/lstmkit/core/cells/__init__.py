"""One time step of one recurrent cell: small pure functions and frozen specs."""

from lstmkit.core.cells.activations import ACTIVATIONS, Activation, get_activation
from lstmkit.core.cells.gru import GRUParams, gru_cell, gru_input_projection, gru_param_shapes, gru_step
from lstmkit.core.cells.lstm import (
    VARIANTS,
    FGRState,
    LSTMParams,
    LSTMSpec,
    LSTMState,
    lstm_cell,
    lstm_gate_step,
    lstm_initial_state,
    lstm_input_projection,
    lstm_param_shapes,
    lstm_step,
    resolve_variant,
    variant_name,
)
from lstmkit.core.cells.rnn import RNNParams, rnn_cell, rnn_input_projection, rnn_param_shapes, rnn_step

__all__ = [
    "ACTIVATIONS",
    "VARIANTS",
    "Activation",
    "FGRState",
    "GRUParams",
    "LSTMParams",
    "LSTMSpec",
    "LSTMState",
    "RNNParams",
    "get_activation",
    "gru_cell",
    "gru_input_projection",
    "gru_param_shapes",
    "gru_step",
    "lstm_cell",
    "lstm_gate_step",
    "lstm_initial_state",
    "lstm_input_projection",
    "lstm_param_shapes",
    "lstm_step",
    "resolve_variant",
    "rnn_cell",
    "rnn_input_projection",
    "rnn_param_shapes",
    "rnn_step",
    "variant_name",
]
