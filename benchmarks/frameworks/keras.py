"""Keras 3 on its torch backend: braindecode's EEGNeX itself, inside `keras.layers.TorchModuleWrapper`, compiled
with AdamW, sparse categorical cross-entropy on logits and accuracy, fitted on numpy arrays with validation data.

epochlog: `EpochlogCallback` (every epoch's logs, every training batch's logs as step series). MLflow:
`mlflow.keras.MlflowCallback(log_every_epoch=False, log_every_n_steps=1)`, inside `mlflow.start_run()`: it logs
either epochs or steps, and steps are the comparable load; it logs the optimizer's config as params and the
model's summary as a text artifact at the start, the validation metrics after each evaluation, all metrics
asynchronously (`synchronous=False`).
"""

from __future__ import annotations

import os

if os.environ.setdefault("KERAS_BACKEND", "torch") != "torch":
    raise RuntimeError(f"TI runs Keras on its torch backend, and KERAS_BACKEND is {os.environ['KERAS_BACKEND']!r}")

import contextlib  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import keras  # noqa: E402
from braindecode.models import EEGNeX  # noqa: E402

from . import CLASSES, EPOCHLOG, MLFLOW, Context, Prepared, Settings, Windows, callback_hooks  # noqa: E402


def prepare(windows: Windows, settings: Settings, kind: str, context: Context) -> Prepared:
    callbacks: list[Any] = []
    around: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext
    if kind == EPOCHLOG:
        from epochlog.integrations.keras import EpochlogCallback

        callbacks.append(EpochlogCallback(tracker=context.tracker, experiment_name=context.experiment_name))
    elif kind == MLFLOW:
        import mlflow
        import mlflow.keras

        callbacks.append(mlflow.keras.MlflowCallback(log_every_epoch=False, log_every_n_steps=1))

        def around() -> contextlib.AbstractContextManager[Any]:
            return mlflow.start_run(run_name=context.experiment_name)

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((windows.channels, windows.samples)),
        keras.layers.TorchModuleWrapper(EEGNeX(n_chans=windows.channels, n_outputs=CLASSES,
                                               n_times=windows.samples))])
    model.compile(optimizer=keras.optimizers.AdamW(settings.learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])

    def fit() -> None:
        with around():
            model.fit(windows.x_train, windows.y_train, batch_size=settings.batch, epochs=settings.epochs,
                      validation_data=(windows.x_valid, windows.y_valid), shuffle=True, verbose=0,
                      callbacks=callbacks)

    return Prepared(fit, [(callback, callback_hooks) for callback in callbacks])
