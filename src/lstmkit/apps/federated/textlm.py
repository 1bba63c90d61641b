"""The federated char LM: lstmkit's :class:`~lstmkit.apps.language.lm.LanguageModel` over clients
that each hold a different text, with one character vocabulary over every client's text.

A model trains as ``lstmkit textgen`` trains one (truncated BPTT with the state carried across
chunks, Adam, gradient clipping, a constant rate) on the clients' training texts joined; a
local update starts from the global weights and, with FedProx, adds the proximal term to the
loss. A client's score is bits per character on its test text; with ``select`` a fit keeps the
epoch whose bits per character on the chosen clients' validation text were lowest.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from lstmkit.apps.federated.data import TextClient
from lstmkit.apps.federated.federation import from_arrays, proximal_term, to_arrays
from lstmkit.apps.language.batching import StreamBatches
from lstmkit.apps.language.lm import LanguageModel, bits_per_token, stream_nll
from lstmkit.apps.language.tokenizers import CharTokenizer
from lstmkit.apps.language.training import TrainOptions, fit
from lstmkit.fit import sequence_cross_entropy

__all__ = ["TextTask"]


class TextTask:
    """The char LM's :class:`~lstmkit.apps.federated.federation.Task`.

    Args:
        clients: who holds which text (:func:`~lstmkit.apps.federated.data.text_clients`).
        hidden_size: the LSTM's (and the embedding's) width; one layer.
        lr, batch_size, bptt: training (Adam).
        seed: the initial weights' seed.
    """

    metric = "bits/char"
    #: every client holds validation text, which can pick an epoch or a round
    selects = True

    def __init__(
        self,
        clients: Sequence[TextClient],
        *,
        hidden_size: int = 128,
        lr: float = 3e-3,
        batch_size: int = 32,
        bptt: int = 64,
        seed: int = 0,
    ) -> None:
        self.data = list(clients)
        self.clients = [c.name for c in self.data]
        self.tokenizer = CharTokenizer()
        self.tokenizer.fit([c.train + c.valid + c.test for c in self.data])
        self.train_ids = [self.tokenizer.encode(c.train) for c in self.data]
        self.held_out = {
            "valid": [self.tokenizer.encode(c.valid) for c in self.data],
            "test": [self.tokenizer.encode(c.test) for c in self.data],
        }
        self.hidden_size, self.lr, self.batch_size, self.bptt, self.seed = (
            hidden_size,
            lr,
            batch_size,
            bptt,
            seed,
        )

    def _new_model(self) -> LanguageModel:
        torch.manual_seed(self.seed)
        return LanguageModel(len(self.tokenizer.vocab), self.hidden_size, self.hidden_size, 1)

    def fit(
        self,
        clients: Sequence[int],
        weights: list[np.ndarray] | None,
        epochs: int,
        mu: float,
        round_number: int = 0,
        select: bool = False,
    ) -> tuple[LanguageModel, int]:
        model = self._new_model()
        penalty = None
        if weights is not None:
            state = from_arrays(model, weights)
            model.load_state_dict(state)
            penalty = proximal_term(state, mu) if mu > 0 else None
        ids = [i for k in clients for i in self.train_ids[k]]

        def loss(logits: Tensor, target: Tensor) -> Tensor:
            value = sequence_cross_entropy(logits, target)
            return value + penalty(model) if penalty is not None else value

        options = TrainOptions(
            lr=self.lr,
            batch_size=self.batch_size,
            epochs=epochs,
            seed=self.seed + round_number,
            progress=False,
        )
        task = {
            "optimizer": "adam",
            "tbptt_k1": self.bptt,
            "carry_state": True,
            "schedule": "constant",
            "restore_best": False,
            "monitor": "train_loss",
        }
        valid = None
        if select:  # the epoch with the lowest loss on these clients' validation text is kept
            held = [i for k in clients for i in self.held_out["valid"][k]]
            valid = StreamBatches(held, self.batch_size, self.bptt)
            task.update(monitor="val_loss", restore_best=True)
        train = StreamBatches(ids, self.batch_size, self.bptt)
        fit(model, options, train, valid, task=task, loss_fn=loss)
        return model.eval(), len(ids)

    def weights(self, model: LanguageModel) -> list[np.ndarray]:
        return to_arrays(model)

    def with_weights(self, model: LanguageModel, weights: list[np.ndarray]) -> LanguageModel:
        model.load_state_dict(from_arrays(model, weights))
        return model

    def score(self, model: LanguageModel, client: int, split: str = "test") -> float:
        """Bits per character on ``client``'s ``"test"`` or ``"valid"`` text."""
        return bits_per_token(stream_nll(model, self.held_out[split][client], batch_size=8, bptt=256))
