"""The standalone `pytorch_lightning` package: the `EpochlogLogger` of `epochlog.integrations.lightning` (see its
docstring), as a `pytorch_lightning` Logger, since its Trainer accepts only Loggers and Callbacks of its own.

    from epochlog.integrations.pytorch_lightning import EpochlogLogger
    trainer = pytorch_lightning.Trainer(logger=EpochlogLogger(challenge=1), max_epochs=20)
"""

from __future__ import annotations

import pytorch_lightning
from pytorch_lightning import Callback
from pytorch_lightning.loggers import Logger

from .lightning_base import CHECKPOINT_KEY, CallbackBase, LoggerBase


class EpochlogCallback(CallbackBase, Callback):
    """`CallbackBase` as a `pytorch_lightning` Callback."""


class EpochlogLogger(LoggerBase, Logger):
    """`LoggerBase` as a `pytorch_lightning` Logger."""

    _lightning = pytorch_lightning
    _callback_type = EpochlogCallback


__all__ = ["CHECKPOINT_KEY", "EpochlogCallback", "EpochlogLogger"]
