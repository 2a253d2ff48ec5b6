"""skorch: braindecode's `EEGClassifier` (a skorch `NeuralNet`) with a predefined validation set.

epochlog: `EpochlogCallback`. MLflow: skorch's own `MlflowLogger` with `log_on_batch_end=True` (every batch's
`train_loss`/`valid_loss` and batch size, every epoch's history row) and `create_artifact=False` (its default
saves the net's parameters as artifacts at the end; epochlog saves no model), inside `mlflow.start_run()` as its
docs show; it logs no hyperparameters.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
from braindecode import EEGClassifier
from braindecode.models import EEGNeX
from skorch.dataset import Dataset
from skorch.helper import predefined_split

from . import CLASSES, EPOCHLOG, MLFLOW, Context, Prepared, Settings, Windows, callback_hooks


def prepare(windows: Windows, settings: Settings, kind: str, context: Context) -> Prepared:
    callbacks: list[Any] = []
    around: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext
    if kind == EPOCHLOG:
        from epochlog.integrations.skorch import EpochlogCallback

        callbacks.append(EpochlogCallback(tracker=context.tracker, experiment_name=context.experiment_name))
    elif kind == MLFLOW:
        import mlflow
        from skorch.callbacks import MlflowLogger

        callbacks.append(MlflowLogger(log_on_batch_end=True, create_artifact=False))

        def around() -> contextlib.AbstractContextManager[Any]:
            return mlflow.start_run(run_name=context.experiment_name)

    net = EEGClassifier(
        EEGNeX, module__n_chans=windows.channels, module__n_outputs=CLASSES, module__n_times=windows.samples,
        optimizer=torch.optim.AdamW, lr=settings.learning_rate, batch_size=settings.batch,
        max_epochs=settings.epochs, train_split=predefined_split(Dataset(windows.x_valid, windows.y_valid)),
        iterator_train__shuffle=True, device="cpu", verbose=0, callbacks=callbacks)

    def fit() -> None:
        torch.manual_seed(0)  # skorch builds the module inside fit
        with around():
            net.fit(windows.x_train, windows.y_train)

    return Prepared(fit, [(callback, callback_hooks) for callback in callbacks])
