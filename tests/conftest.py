"""Test configuration: one torch thread per test process (pytest-xdist runs two on two cores)."""

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
