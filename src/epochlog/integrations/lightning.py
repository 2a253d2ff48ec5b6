"""PyTorch Lightning: `EpochlogLogger` records a `Trainer.fit` into epochlog.

    from epochlog.integrations.lightning import EpochlogLogger
    trainer = Trainer(logger=EpochlogLogger(challenge=1), max_epochs=20)

A Logger only sees values, so the logger adds a small callback of its own to the trainer the first time
Lightning hands it the model (`log_graph`, right after `log_hyperparams` at the start of `fit`); the callback
tells a step from an epoch, ends epochs, and carries the experiment id in the checkpoints. With
`Trainer(enable_autolog_hparams=False)` Lightning calls neither: pass `callbacks=[logger.callback]` then.

Recorded: the LightningModule's (and datamodule's) `hparams` as `config`; `model.name` (the LightningModule's
class), `model.module` (its one child module with parameters, when it has exactly one) and
`model.parameters`; `dataset.train_size` / `val_size` from the dataloaders; every epoch's `on_epoch` metrics,
Lightning's epoch numbers (from 0, as its progress bar and checkpoint names count), the validation and the
training metrics of an epoch in one row, written once the epoch ends (or the fit ends); `on_step` metrics as
step series at Lightning's step; every file a `ModelCheckpoint` saves; how the fit ended.

Resuming `trainer.fit(model, ckpt_path=...)` continues the experiment the checkpoint was saved in (its id is
stored under the checkpoint's `"epochlog"` key). Only the global rank zero records.

A `pytorch_lightning.Trainer` (the standalone package) accepts only its own Loggers and Callbacks: import the
same classes from `epochlog.integrations.pytorch_lightning` for it.
"""

from __future__ import annotations

from lightning import pytorch
from lightning.pytorch import Callback
from lightning.pytorch.loggers import Logger

from .lightning_base import CHECKPOINT_KEY, CallbackBase, LoggerBase


class EpochlogCallback(CallbackBase, Callback):
    """`CallbackBase` as a `lightning.pytorch` Callback."""


class EpochlogLogger(LoggerBase, Logger):
    """`LoggerBase` as a `lightning.pytorch` Logger."""

    _lightning = pytorch
    _callback_type = EpochlogCallback


__all__ = ["CHECKPOINT_KEY", "EpochlogCallback", "EpochlogLogger"]
