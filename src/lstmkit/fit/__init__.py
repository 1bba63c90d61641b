"""Training: the loop, losses, metrics, optimizers, schedules, checkpoints.

The public API (see docs/training.md)::

    from lstmkit.fit import Trainer, TrainConfig, StepOutput
    trainer = Trainer(model, TrainConfig(lr=1e-2, max_epochs=5), loss_fn=masked_mse)
    history = trainer.fit(train_loader, val_loader)
"""

from lstmkit.fit.checkpoint import atomic_save, load_checkpoint, seed_everything
from lstmkit.fit.config import OPTIMIZERS, SCHEDULES, TrainConfig
from lstmkit.fit.losses import (
    gaussian_nll,
    masked_huber,
    masked_mae,
    masked_mean,
    masked_mse,
    quantile_loss,
    sequence_cross_entropy,
)
from lstmkit.fit.metrics import RMSE, BatchMean, Metric, Perplexity, accuracy, mae, mse
from lstmkit.fit.optim import NTASGD, LRSchedule, build_optimizer
from lstmkit.fit.tbptt import tbptt_windows
from lstmkit.fit.trainer import Callback, History, StepOutput, Trainer

__all__ = [
    "NTASGD",
    "OPTIMIZERS",
    "RMSE",
    "SCHEDULES",
    "BatchMean",
    "Callback",
    "History",
    "LRSchedule",
    "Metric",
    "Perplexity",
    "StepOutput",
    "TrainConfig",
    "Trainer",
    "accuracy",
    "atomic_save",
    "build_optimizer",
    "gaussian_nll",
    "load_checkpoint",
    "mae",
    "masked_huber",
    "masked_mae",
    "masked_mean",
    "masked_mse",
    "mse",
    "quantile_loss",
    "seed_everything",
    "sequence_cross_entropy",
    "tbptt_windows",
]
