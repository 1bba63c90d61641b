r"""Sequence classification networks: a sequence encoder with a pooling of its outputs,
LSTM-FCN, and the FCN alone.

* :class:`EncoderClassifier` (also :class:`LSTMClassifier`): a sequence encoder over the steps
  (an LSTM, a bidirectional LSTM, a GRU, an Elman RNN, a non-causal Transformer or a TCN; see
  :mod:`lstmkit.core.layers.encoder`), pooled into one vector (the last real step, the mean
  over real steps, or attention pooling, Yang et al. 2016), then a linear layer.
* :class:`LSTMFCN` (Karim, Majumdar, Darabi & Chen 2018, "LSTM Fully Convolutional Networks
  for Time Series Classification"): a fully convolutional branch (three Conv1d-BatchNorm-ReLU
  blocks of 128, 256, 128 filters with kernels 8, 5, 3 and global average pooling, Wang et al.
  2017) next to an LSTM branch, concatenated into a softmax layer. With ``shuffle=True`` (the
  paper's "dimension shuffle") the LSTM reads the C channels as C steps of L features
  (univariate series: one step of L features); with ``shuffle=False`` it reads the L time
  steps.
* :class:`FCN` (Wang, Yan & Oates 2017, "Time Series Classification from Scratch with Deep
  Neural Networks"): the convolutional branch alone, then the softmax layer.

Variable-length sequences are handled with ``lengths``: the encoder gets them (padded steps are
skipped or masked), mean and attention pooling and the FCN's average pooling and batch
statistics ignore padded steps.

Shapes: N batch, L steps, C channels, K classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from lstmkit.core.layers.attention import AttentionPooling
from lstmkit.core.layers.encoder import EncoderSettings, last_step
from lstmkit.core.layers.settings import LSTMKeywords, LSTMSettings

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["FCN", "LSTMFCN", "POOLINGS", "EncoderClassifier", "LSTMClassifier"]

POOLINGS = ("last", "mean", "attention")


def _mask(lengths: Tensor | None, n: int, length: int, device: torch.device) -> Tensor:
    """(N, L) True at real steps."""
    if lengths is None:
        return torch.ones(n, length, dtype=torch.bool, device=device)
    return torch.arange(length, device=device)[None, :] < lengths.to(device)[:, None]


def _check_input(x: Tensor, channels: int, lengths: Tensor | None) -> Tensor | None:
    if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[2] != channels:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x: expected a float tensor (N, L, {channels}), got {got}")
    if lengths is None:
        return None
    lengths = torch.as_tensor(lengths, dtype=torch.long)
    if lengths.shape != (x.shape[0],):
        raise ValueError(
            f"lengths: expected shape ({x.shape[0]},) (one per sequence), got {tuple(lengths.shape)}"
        )
    if bool((lengths < 1).any()) or bool((lengths > x.shape[1]).any()):
        raise ValueError(
            f"lengths: expected values in [1, {x.shape[1]}], got {lengths.min()}..{lengths.max()}"
        )
    return lengths


def _check_classes(num_classes: int) -> None:
    if num_classes < 2:
        raise ValueError(f"num_classes: expected at least 2, got {num_classes}")


def _old_lstm_keys(module: nn.Module, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
    """Load a state dict of the classifier that held its LSTM as ``lstm`` (now ``encoder``)."""
    for key in [k for k in state_dict if k.startswith(prefix + "lstm.")]:
        state_dict[prefix + "encoder." + key[len(prefix) + 5 :]] = state_dict.pop(key)


class EncoderClassifier(nn.Module):
    r"""A sequence encoder (an LSTM by default) with a pooling of its outputs.

    .. math::

        o_{1..L} = \mathrm{Encoder}(x_{1..L}), \quad
        p = \begin{cases} o_L & \text{last} \\ \frac1L \sum_t o_t & \text{mean} \\
        \sum_t a_t o_t,\ a = \mathrm{softmax}(v^\top \tanh(W o_t + b)) & \text{attention}
        \end{cases}, \quad \text{logits} = W_c\, \mathrm{dropout}(p) + b_c

    (for a recurrent encoder ``last`` reads its final state; a bidirectional one joins the
    forward direction's final state and the backward direction's state at step 1).

    Args:
        input_size: C, channels per step.
        num_classes: K.
        architecture: the encoder, one of :data:`~lstmkit.core.layers.encoder.ARCHITECTURES`:
            ``"lstm"``, ``"gru"``, ``"rnn"``, ``"transformer"`` (non-causal: every step sees
            every real step) or ``"tcn"``.
        bidirectional: run both directions (recurrent encoders).
        pooling: ``"last"``, ``"mean"`` or ``"attention"``.
        dropout: on the pooled vector (and between recurrent layers, inside Transformer and
            TCN blocks).
        num_heads: the Transformer's attention heads (dividing ``hidden_size``).
        kernel_size: the TCN's kernel.
        **lstm: ``hidden_size`` (64), ``num_layers``, ``variant``, ``engine`` (an LSTM's): the
            encoder's :class:`~lstmkit.core.layers.encoder.EncoderSettings`.

    Inputs: ``x`` (N, L, C), ``lengths`` (N,) optional. Output: logits (N, K).

    Example::

        >>> net = EncoderClassifier(3, 4, hidden_size=16, bidirectional=True, pooling="attention")
        >>> net(torch.randn(5, 20, 3), torch.tensor([20, 18, 7, 3, 1])).shape
        torch.Size([5, 4])
        >>> net = EncoderClassifier(3, 4, architecture="transformer", hidden_size=16, pooling="mean")
        >>> net(torch.randn(5, 20, 3), torch.tensor([20, 18, 7, 3, 1])).shape
        torch.Size([5, 4])
    """

    def __init__(
        self,
        input_size: int,
        num_classes: int,
        *,
        architecture: str = "lstm",
        bidirectional: bool = False,
        pooling: str = "last",
        dropout: float = 0.1,
        num_heads: int = 4,
        kernel_size: int = 3,
        **lstm: Unpack[LSTMKeywords],
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling: expected one of {POOLINGS}, got {pooling!r}")
        _check_classes(num_classes)
        settings = EncoderSettings(
            architecture, **{"hidden_size": 64, **lstm}, num_heads=num_heads, kernel_size=kernel_size
        )
        self.input_size, self.num_classes, self.pooling = input_size, num_classes, pooling
        self.encoder = settings.encoder(
            input_size, bidirectional=bidirectional, dropout=dropout, causal=False
        )
        feat = self.encoder.output_size
        self.attention = AttentionPooling(feat) if pooling == "attention" else None
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(feat, num_classes)
        self.register_load_state_dict_pre_hook(_old_lstm_keys)

    @property
    def lstm(self) -> nn.Module:
        """The encoder's layer (the attribute an LSTM classifier's LSTM had)."""
        return self.encoder.layer

    def features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The pooled vector (N, H_out)."""
        lengths = _check_input(x, self.input_size, lengths)
        out, state = self.encoder(x, lengths=lengths)  # (N, L, H_out)
        mask = _mask(lengths, x.shape[0], x.shape[1], x.device)  # (N, L)
        if self.attention is not None:
            pooled, _ = self.attention(out, mask)
        elif self.pooling == "last" and self.encoder.settings.recurrent:
            h = getattr(state, "h", state)  # (layers * D, N, H)
            d = 2 if getattr(self.encoder.layer, "bidirectional", False) else 1
            pooled = torch.cat([h[-d + k] for k in range(d)], dim=-1)  # (N, D*H)
        elif self.pooling == "last":
            pooled = last_step(out, lengths)  # (N, H)
        else:
            pooled = (out * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).to(out.dtype)
        return pooled

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.head(self.drop(self.features(x, lengths)))  # (N, K)


#: the classifier of an LSTM (or bidirectional LSTM): :class:`EncoderClassifier`'s default
LSTMClassifier = EncoderClassifier


def _fcn_blocks(input_size: int, filters: tuple[int, ...], kernels: tuple[int, ...]) -> nn.ModuleList:
    """The convolution blocks of Wang et al.'s FCN: (pad, Conv1d, BatchNorm1d, ReLU) each, the
    padding keeping the length ("same", any kernel)."""
    blocks: list[nn.Module] = []
    channels = input_size
    for f, k in zip(filters, kernels):
        pad = nn.ConstantPad1d(((k - 1) // 2, k // 2), 0.0)
        blocks.append(nn.Sequential(pad, nn.Conv1d(channels, f, k), nn.BatchNorm1d(f), nn.ReLU()))
        channels = f
    return nn.ModuleList(blocks)


def _fcn_features(blocks: nn.ModuleList, x: Tensor, mask: Tensor) -> Tensor:
    """The FCN's globally average-pooled features (N, F) of ``x`` (N, L, C), zero at the padded
    steps of ``mask`` (N, L); batch statistics and the pooling read the real steps only."""
    m = mask[:, None, :].to(x.dtype)  # (N, 1, L)
    conv = x.transpose(1, 2)  # (N, C, L)
    for block in blocks:
        pad, conv_layer, norm, act = block.children()  # (pad, Conv1d, BatchNorm1d, ReLU)
        assert isinstance(norm, nn.BatchNorm1d)
        # batch statistics over real steps only: padding never changes training either
        conv = act(_masked_batch_norm(norm, conv_layer(pad(conv)), m)) * m
    return (conv * m).sum(2) / m.sum(2)  # (N, F) masked global average pooling


def _masked_batch_norm(bn: nn.BatchNorm1d, x: Tensor, m: Tensor) -> Tensor:
    """``bn`` (N, F, L) -> (N, F, L) with the batch statistics of training mode (and the running
    averages) taken over the real steps of the (N, 1, L) 0/1 mask ``m`` only; as ``bn`` itself
    when every step is real, and in evaluation mode (running statistics)."""
    if not bn.training or not bn.track_running_stats or bool(m.all()):
        return bn(x)
    count = m.sum() * 1.0  # real (sequence, step) positions
    mean = (x * m).sum((0, 2)) / count  # (F,)
    centred = (x - mean[None, :, None]) * m
    var = (centred**2).sum((0, 2)) / count  # biased, as batch norm normalizes with
    assert bn.running_mean is not None and bn.running_var is not None
    with torch.no_grad():
        momentum = 0.1 if bn.momentum is None else bn.momentum
        bn.running_mean.lerp_(mean.detach(), momentum)
        bn.running_var.lerp_(var.detach() * count / (count - 1).clamp(min=1), momentum)
        if bn.num_batches_tracked is not None:
            bn.num_batches_tracked += 1
    out = (x - mean[None, :, None]) / torch.sqrt(var + bn.eps)[None, :, None]
    if bn.affine:
        out = out * bn.weight[None, :, None] + bn.bias[None, :, None]
    return out


class LSTMFCN(nn.Module):
    r"""LSTM-FCN of Karim et al. (2018).

    .. math::

        f = \mathrm{GAP}(\mathrm{CBR}_{128,3}(\mathrm{CBR}_{256,5}(\mathrm{CBR}_{128,8}(x)))), \quad
        g = \mathrm{dropout}(h^{\mathrm{LSTM}}_{\mathrm{last}}), \quad
        \text{logits} = W [f; g] + b

    where CBR is Conv1d (same padding), BatchNorm and ReLU, and GAP the mean over real steps.

    Args:
        input_size: C, channels.
        num_classes: K.
        max_length: L of the training data (the LSTM's input size with ``shuffle=True``).
        dropout: after the LSTM (the paper uses 0.8).
        shuffle: the paper's dimension shuffle (see the module docstring).
        filters, kernels: of the three convolution blocks.
        **lstm: the LSTM's :class:`~lstmkit.core.layers.settings.LSTMSettings`: ``hidden_size``
            (8; the paper tries 8, 64 and 128), ``num_layers`` (the paper's 1), ``variant``,
            ``engine``.

    Inputs: ``x`` (N, L, C) with L <= ``max_length`` when shuffling, ``lengths`` (N,) optional.
    Output: logits (N, K).

    Example::

        >>> net = LSTMFCN(1, 2, max_length=150)
        >>> net(torch.randn(4, 150, 1)).shape
        torch.Size([4, 2])
    """

    def __init__(
        self,
        input_size: int,
        num_classes: int,
        max_length: int,
        *,
        dropout: float = 0.8,
        shuffle: bool = True,
        filters: tuple[int, int, int] = (128, 256, 128),
        kernels: tuple[int, int, int] = (8, 5, 3),
        **lstm: Unpack[LSTMKeywords],
    ) -> None:
        super().__init__()
        _check_classes(num_classes)
        settings = LSTMSettings(**{"hidden_size": 8, **lstm})
        self.input_size, self.num_classes, self.max_length, self.shuffle = (
            input_size,
            num_classes,
            max_length,
            shuffle,
        )
        self.lstm = settings.layer(max_length if shuffle else input_size)
        self.lstm_drop = nn.Dropout(dropout)
        self.fcn = _fcn_blocks(input_size, filters, kernels)
        self.head = nn.Linear(settings.hidden_size + filters[-1], num_classes)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        lengths = _check_input(x, self.input_size, lengths)
        n, length, _ = x.shape
        mask = _mask(lengths, n, length, x.device)  # (N, L)
        x = x * mask[..., None]  # zero padding, so convolutions and the shuffle see zeros there
        f = _fcn_features(self.fcn, x, mask)  # (N, F)
        if self.shuffle:
            if length > self.max_length:
                raise ValueError(
                    f"x: at most {self.max_length} steps with the dimension shuffle, got {length}"
                )
            xs = nn.functional.pad(x, (0, 0, 0, self.max_length - length)).transpose(1, 2)  # (N, C, L_max)
            _, state = self.lstm(xs)
        else:
            _, state = self.lstm(x, lengths=lengths)
        g = self.lstm_drop(state.h[-1])  # (N, H)
        return self.head(torch.cat([f, g], dim=1))  # (N, K)


class FCN(nn.Module):
    r"""The fully convolutional network of Wang, Yan & Oates (2017): LSTM-FCN's convolutional
    branch alone.

    .. math::

        f = \mathrm{GAP}(\mathrm{CBR}_{128,3}(\mathrm{CBR}_{256,5}(\mathrm{CBR}_{128,8}(x)))), \quad
        \text{logits} = W f + b

    where CBR is Conv1d (same padding), BatchNorm and ReLU, and GAP the mean over real steps.

    Args:
        input_size: C, channels.
        num_classes: K.
        filters, kernels: of the three convolution blocks.

    Inputs: ``x`` (N, L, C), ``lengths`` (N,) optional. Output: logits (N, K).

    Example::

        >>> net = FCN(1, 2)
        >>> net(torch.randn(4, 150, 1), torch.tensor([150, 120, 90, 3])).shape
        torch.Size([4, 2])
    """

    def __init__(
        self,
        input_size: int,
        num_classes: int,
        *,
        filters: tuple[int, int, int] = (128, 256, 128),
        kernels: tuple[int, int, int] = (8, 5, 3),
    ) -> None:
        super().__init__()
        _check_classes(num_classes)
        self.input_size, self.num_classes = input_size, num_classes
        self.fcn = _fcn_blocks(input_size, filters, kernels)
        self.head = nn.Linear(filters[-1], num_classes)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        lengths = _check_input(x, self.input_size, lengths)
        mask = _mask(lengths, x.shape[0], x.shape[1], x.device)  # (N, L)
        return self.head(_fcn_features(self.fcn, x * mask[..., None], mask))  # (N, K)
