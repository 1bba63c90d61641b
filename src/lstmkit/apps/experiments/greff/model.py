"""The study's network: one LSTM layer of a Greff variant and a linear read-out."""

from __future__ import annotations

from torch import Tensor, nn

from lstmkit.core.layers import LSTM

__all__ = ["VariantNet"]


class VariantNet(nn.Module):
    r"""One unidirectional LSTM layer of ``variant`` and a linear read-out at every step.

    Args:
        input_size: H_in, features per step.
        hidden_size: H, LSTM blocks.
        output_size: O, outputs per step (classes, characters, channels).
        variant: a name of :data:`lstmkit.core.cells.VARIANTS` (``"vanilla"``, ``"nfg"`` ...).
        engine: the LSTM's engine (``"auto"``: the fastest that supports the variant).

    Shape:
        - x: (N, L, H_in); lengths: (N,) or ``None``
        - output: (N, L, O), zero-input read-out at padded steps

    Example::

        >>> import torch
        >>> net = VariantNet(3, 8, 2, variant="cifg")
        >>> net(torch.randn(4, 5, 3)).shape
        torch.Size([4, 5, 2])
    """

    def __init__(
        self, input_size: int, hidden_size: int, output_size: int, *, variant: str, engine: str = "auto"
    ) -> None:
        super().__init__()
        self.lstm = LSTM(input_size, hidden_size, variant=variant, batch_first=True, engine=engine)
        self.head = nn.Linear(hidden_size, output_size)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        h, _ = self.lstm(x, lengths=lengths)  # (N, L, H)
        return self.head(h)  # (N, L, O)
