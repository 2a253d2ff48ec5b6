"""PyTorch Lightning: EEGNeX in a LightningModule logging `train_loss` (on step and on epoch), `val_loss` and
`val_acc`; a logger gets every step's values (`log_every_n_steps=1`). No checkpoints, no progress bar.

epochlog: `EpochlogLogger`; its time is that of the logger's hooks (`log_hyperparams`, `log_graph`, where it
begins the experiment, `log_metrics`, `after_save_checkpoint`, `save`, `finalize`) and of the `on_*` hooks of the
callback it adds to the trainer. MLflow: Lightning's `MLFlowLogger` (the hyperparameters as params, every
`log_metrics` as one synchronous `log_batch`), the same logger hooks. Without an integration: `logger=False`.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

import lightning.pytorch as pl
import torch
from braindecode.models import EEGNeX

from . import CLASSES, EPOCHLOG, MLFLOW, Context, Prepared, Settings, Windows, callback_hooks

LOGGER_HOOKS = frozenset({"log_hyperparams", "log_graph", "log_metrics", "after_save_checkpoint", "save", "finalize"})
for noisy in ("lightning", "lightning.pytorch", "lightning.fabric"):
    logging.getLogger(noisy).setLevel(logging.ERROR)
warnings.filterwarnings("ignore", message=".*does not have many workers.*")


class Module(pl.LightningModule):
    def __init__(self, channels: int, samples: int, learning_rate: float) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.eegnex = EEGNeX(n_chans=channels, n_outputs=CLASSES, n_times=samples)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], index: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self.eegnex(x), y)
        self.log("train_loss", loss, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], index: int) -> None:
        x, y = batch
        logits = self.eegnex(x)
        self.log("val_loss", torch.nn.functional.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(dim=1) == y).float().mean())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=self.hparams["learning_rate"])


def logger_hooks(name: str) -> bool:
    return name in LOGGER_HOOKS


def prepare(windows: Windows, settings: Settings, kind: str, context: Context) -> Prepared:
    logger: Any = False
    timed: list[tuple[Any, Any]] = []
    if kind == EPOCHLOG:
        from epochlog.integrations.lightning import EpochlogLogger

        logger = EpochlogLogger(tracker=context.tracker, experiment_name=context.experiment_name)
        timed = [(logger, logger_hooks), (logger.callback, callback_hooks)]
    elif kind == MLFLOW:
        from lightning.pytorch.loggers import MLFlowLogger

        logger = MLFlowLogger(experiment_name="ti", run_name=context.experiment_name, tracking_uri=context.mlflow_uri)
        timed = [(logger, logger_hooks)]
    torch.manual_seed(0)
    module = Module(windows.channels, windows.samples, settings.learning_rate)
    generator = torch.Generator().manual_seed(0)
    train = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(windows.x_train), torch.from_numpy(windows.y_train)),
        batch_size=settings.batch, shuffle=True, generator=generator)
    valid = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(windows.x_valid), torch.from_numpy(windows.y_valid)),
        batch_size=settings.batch)
    trainer = pl.Trainer(max_epochs=settings.epochs, accelerator="cpu", devices=1, logger=logger,
                         log_every_n_steps=1, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0,
                         default_root_dir=os.path.join(settings.workdir, "lightning"))
    return Prepared(lambda: trainer.fit(module, train, valid), timed)
