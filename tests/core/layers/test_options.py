"""The shared layer options travel as one value, and every check names its argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit import GRU, LSTM, RNN
from lstmkit.core.layers.options import LayerOptions, check_bool, check_factory_kwargs, check_positive_int


def test_options_are_taken_by_name_and_kept_as_attributes() -> None:
    arguments = {f: None for f in ("self", "device", "dtype", "variant")}
    arguments |= dict(input_size=3, hidden_size=4, num_layers=2, bias=False, batch_first=True)
    arguments |= dict(bidirectional=True, dropout=0.1, input_dropout=0.2, recurrent_dropout=0.3)
    arguments |= dict(engine="reference", check_finite=True)
    options = LayerOptions.of(arguments)
    assert options == LayerOptions(3, 4, 2, False, True, True, 0.1, 0.2, 0.3, "reference", True)
    for cls in (LSTM, GRU, RNN):
        layer = cls(**{k: v for k, v in arguments.items() if k in LayerOptions.__dataclass_fields__})
        for name in LayerOptions.__dataclass_fields__:
            assert getattr(layer, name) == getattr(options, name), (cls.__name__, name)


def test_checks_name_the_argument() -> None:
    assert check_positive_int("n", 3) == 3 and check_positive_int("n", 0, allow_zero=True) == 0
    with pytest.raises(TypeError, match="n: expected an int, got bool"):
        check_positive_int("n", True)
    with pytest.raises(ValueError, match="n: expected an int >= 1, got 0"):
        check_positive_int("n", 0)
    assert check_bool("flag", np.bool_(True)) is True and check_bool("flag", 0) is False
    with pytest.raises(TypeError, match="flag: expected a bool, got str"):
        check_bool("flag", "False")
    assert check_factory_kwargs("cpu", torch.float64) == (torch.device("cpu"), torch.float64)
    with pytest.raises(ValueError, match="device: expected a torch device"):
        check_factory_kwargs("gpu0", None)
    with pytest.raises(TypeError, match=r"dtype: expected a floating-point torch\.dtype"):
        check_factory_kwargs(None, torch.int64)
