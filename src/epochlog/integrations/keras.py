"""Keras 3 (any backend): `EpochlogCallback` records a `model.fit` as one epochlog experiment.

    from epochlog.integrations.keras import EpochlogCallback
    model.fit(x, y, validation_split=0.2, callbacks=[EpochlogCallback(challenge=1)])

The experiment begins with the fit's first epoch and records, with no naming by the user:

- `config`: the optimizer's class (`optimizer`) and its `get_config()` (`learning_rate`, `beta_1`, ...), the
  compiled `loss` and `metrics` names, and the fit's `epochs`, `steps_per_epoch`, `batch_size`,
  `initial_epoch`, `validation_split`, `validation_freq`, `shuffle`; `model`: the class (`name`), `model.name`
  (`keras_name`), `count_params()` (`parameters`) and `trainable_parameters`; `dataset`: `train_samples`,
  `train_steps` and `valid_samples`, where Keras knows them; the experiment's name is `model.name` unless given;
- every epoch's `logs` (`loss`, `accuracy`, `val_loss`, ...) under Keras' own 0-based epoch number, the one
  `History.epoch`, `CSVLogger` and `TensorBoard` record (the progress bar prints it plus one, "Epoch 1/5" is
  epoch 0), with its duration (training and validation) in `timing`;
- every training batch's `logs` as step series of the same names at the global step (`epoch * steps + batch +
  1`); Keras reports at each batch the running mean of the epoch so far, which is what they hold;
- every file a `keras.callbacks.ModelCheckpoint` of the same fit saves at an epoch's end (`save_freq="epoch"`),
  with its size and sha256, under the epoch it was saved at (its file name's `{epoch}` is that plus one);
  `is_best` is Keras' own judgement for a `save_best_only` checkpoint watching the objective's metric, else
  whether the epoch is the objective's best so far;
- every file a `ModelCheckpoint(save_freq=N)` saves every N training batches, under the epoch it was saved in,
  with the 1-based `batch` (its file name's `{batch}`) and the global `step`, the batch's logs as its metrics;
  `is_best` is Keras' judgement when it is `save_best_only` on the objective's metric and the batch logs hold
  it (a running mean of the epoch so far), else False: the objective's best is judged on whole epochs;
- how it ended: completed at `on_train_end` (an `EarlyStopping` included), stopped on Ctrl-C or SIGTERM,
  failed with the error when `fit` raised. Keras tells callbacks nothing then: an uncaught error ends the run
  from `sys.excepthook`, an exit without the end from `atexit`, and an error the caller caught is recorded
  when this callback's next fit begins.

The objective, unless `objective=` is given, is the `monitor` of a `ModelCheckpoint(save_best_only=True)`, else
of an `EarlyStopping`, with its `mode` (`"auto"` as Keras resolves it: `loss` is minimized, a compiled metric
goes the way it declares, `accuracy`), else `val_loss`, or `loss` for a fit without validation data, minimized.

The callback finds the other callbacks of the fit, and the fit's arguments, in the `model.fit` call it runs
in (Keras hands a callback neither): a `ModelCheckpoint` or `EarlyStopping` in `callbacks=` is seen whatever its
place in the list.

Resuming: a fit that starts past epoch 0 (`initial_epoch=k` after loading a checkpoint, or a
`BackupAndRestore` that restored one) continues the experiment it resumes. The callback writes the experiment's
id into `epochlog.json` in each `BackupAndRestore` backup directory (which Keras deletes when training
completes) and in the directory of each `ModelCheckpoint` that saved, and a later fit reads it from there, in
a new process too; `experiment_id=` names the experiment to continue explicitly. A fit from epoch 0 is a new
experiment, as Keras starts a new `History`. Epochs logged again replace the ones a killed run left.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import keras

from ..errors import NotFound
from ..tracker import Tracker
from .recorder import RecorderOptions, TrainingRecorder
from .values import safe_key

log = logging.getLogger("epochlog.integrations.keras")

SIDECAR = "epochlog.json"  # the experiment id kept next to a checkpoint or backup, for a resumed fit to find
MAX_FRAMES = 32  # how far up the stack the `fit` call is looked for
FIT_ARGUMENTS = ("batch_size", "initial_epoch", "validation_split", "validation_freq", "validation_steps",
                 "validation_batch_size", "shuffle", "class_weight")
MAXIMIZED = ("acc", "auc", "precision", "recall", "f1", "fbeta", "iou")  # Keras 2's `mode="auto"` rule


@dataclass
class _Epoch:
    """An epoch logged whose values a callback listed after this one may still add to (and whose checkpoints
    those callbacks may still save)."""

    number: int
    logs: dict[str, Any]  # the dict Keras hands every callback, which they may add to
    seen: dict[str, Any]  # its values when logged
    timing: dict[str, Any]


@dataclass
class _Batch:
    """A training batch whose checkpoints (a `ModelCheckpoint(save_freq=N)`'s) are registered at its end."""

    epoch: int
    batch: int  # Keras' 0-based batch number in the epoch
    step: int  # the global step its values were logged at
    logs: dict[str, Any]


@dataclass
class _Fit:
    """What one `model.fit` call shows of itself."""

    arguments: dict[str, Any] = field(default_factory=dict)  # the fit's arguments this callback records
    callbacks: list[Any] = field(default_factory=list)  # the fit's callbacks, in Keras' calling order
    position: int = -1  # this callback's place among them
    samples: dict[str, int] = field(default_factory=dict)
    validates: bool = True  # whether the fit has validation data
    objective: dict[str, str] = field(default_factory=dict)
    began: bool = False
    epoch: int = 0
    steps: int = 0  # training batches seen in this fit (when Keras does not know an epoch's length)
    bests: dict[int, Any] = field(default_factory=dict)  # each save_best_only checkpoint's `best` as the epoch began
    pending: _Epoch | None = None
    batch: _Batch | None = None  # the last training batch, whose checkpoints the callbacks after this one save
    batch_bests: dict[int, Any] = field(default_factory=dict)  # each batch save_freq checkpoint's `best` then
    sidecars: set[str] = field(default_factory=set)  # directories whose epochlog.json names the experiment


class EpochlogCallback(keras.callbacks.Callback):
    """Records each `model.fit` this callback is given to as an epochlog experiment (see the module's docstring).

    `tracker=` or `uri=` chooses the store (the default is `get_tracker()`'s: `EPOCHLOG_URI`, else
    `./epochlog.db`); `experiment_id=` continues that experiment; `experiment_name`, `challenge`, `tags`,
    `objective` and any other keyword (`notes`, `config`, `dataset`, ...) go to the experiment, over what Keras
    reports. `.experiment_id` is the experiment's id once training has started.
    """

    def __init__(self, *, tracker: Tracker | None = None, uri: str | os.PathLike[str] | None = None,
                 experiment_id: str | None = None, experiment_name: str | None = None,
                 challenge: int | None = None, tags: Iterable[str] | None = None,
                 objective: Mapping[str, Any] | None = None, **fields: Any) -> None:
        super().__init__()
        self._options = RecorderOptions.given(tracker=tracker, uri=uri, experiment_name=experiment_name,
                                              challenge=challenge, tags=tags, objective=objective, fields=fields)
        self._resume_id = experiment_id
        self._recorder: TrainingRecorder | None = None
        self._fit = _Fit()

    @property
    def experiment_id(self) -> str | None:
        """The experiment being (or last) recorded; before the first fit, the one given to continue."""
        if self._recorder is not None and self._recorder.experiment_id:
            return self._recorder.experiment_id
        return self._resume_id

    # -- Keras' events ----------------------------------------------------------------------------------

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        self._fit = _inspect_fit(self)

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        if self._fit.began:
            self._settle()
        else:
            self._begin(int(epoch))
        assert self._recorder is not None
        self._recorder.epoch_began()
        fit = self._fit
        fit.epoch = int(epoch)
        fit.bests = {id(callback): callback.best for callback in fit.callbacks if _saves_best(callback)}
        for callback in fit.callbacks:
            if _saves_on_batches(callback):
                fit.batch_bests.setdefault(id(callback), callback.best)

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        if not self._recording() or not logs:
            return
        assert self._recorder is not None
        fit = self._fit
        fit.steps += 1
        per_epoch = self.params.get("steps") if isinstance(self.params, dict) else None
        step = fit.epoch * per_epoch + int(batch) + 1 if isinstance(per_epoch, int) else fit.steps
        self._recorder.step(step, logs)
        self._register_batch_checkpoints(before=False)  # the previous batch's, by the callbacks after this one
        fit.batch = _Batch(fit.epoch, int(batch), step, dict(logs))
        self._register_batch_checkpoints(before=True)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._recording():
            return
        assert self._recorder is not None
        self._register_batch_checkpoints(before=False)
        self._fit.batch = None
        values = logs if logs is not None else {}
        timing = self._recorder.epoch(int(epoch), values)
        self._fit.pending = _Epoch(int(epoch), values, dict(values), timing)
        self._register_checkpoints(before=True)

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        if not self._recording():
            return
        assert self._recorder is not None
        self._settle()
        self._recorder.end()  # stopped if Ctrl-C or SIGTERM came and the caller went on to fit again
        self._fit = _Fit()

    # -- mapping onto the recorder ----------------------------------------------------------------------

    def _recording(self) -> bool:
        return self._fit.began and self._recorder is not None and self._recorder.active

    def _begin(self, epoch: int) -> None:
        """Begin, or continue, the experiment of this fit (at its first epoch, once a `BackupAndRestore` has
        set where training resumes)."""
        fit = self._fit
        if not fit.callbacks:  # a loop that called on_epoch_begin without on_train_begin
            fit = self._fit = _inspect_fit(self)
        target = self._resume_id or (self._checkpointed() if epoch > 0 else None)
        current = self._recorder
        if current is not None and current.active:
            if target == current.experiment_id:
                fit.began = True  # the last fit raised, this one resumes it
                return
            current.end(None if current.interrupted else _caught_error())
        facts: dict[str, Any] = {"config": _config(self.model, self.params, fit.arguments),
                                 "model": _model(self.model), "dataset": {**fit.samples, **_steps(self.params)},
                                 "objective": fit.objective}
        recorder = self._new_recorder(target)
        try:
            recorder.start(**facts)
        except NotFound:
            if target is None or target == self._resume_id:
                raise
            log.warning("experiment %s, which the checkpoint names, is not in this store: training is recorded as "
                        "a new experiment", target)
            recorder = self._new_recorder(None)
            recorder.start(**facts)
        self._recorder = recorder
        fit.began = True
        for callback in fit.callbacks:
            if isinstance(callback, keras.callbacks.BackupAndRestore):
                self._write_sidecar(str(callback.backup_dir))

    def _new_recorder(self, experiment_id: str | None) -> TrainingRecorder:
        return self._options.recorder(experiment_id, getattr(self.model, "name", None))

    def _checkpointed(self) -> str | None:
        """The experiment a resumed fit continues: the one a backup or checkpoint directory names, else the one
        this callback recorded last (`fit(initial_epoch=...)` again in the same process)."""
        for directory in _checkpoint_directories(self._fit.callbacks):
            found = _read_sidecar(directory)
            if found is not None:
                return found
        return self._recorder.experiment_id if self._recorder is not None else None

    def _settle(self) -> None:
        """Complete the last epoch logged with what the callbacks after this one added to its logs (a
        `ReduceLROnPlateau`'s `learning_rate`) and register the checkpoints they saved."""
        pending = self._fit.pending
        if pending is None:
            return
        assert self._recorder is not None
        if pending.logs != pending.seen:
            self._recorder.epoch(pending.number, pending.logs, timing=pending.timing)
        self._register_checkpoints(before=False)
        self._fit.pending = None

    def _register_checkpoints(self, *, before: bool) -> None:
        """Register the files the ModelCheckpoints listed before (or after) this callback saved at the end of
        the pending epoch."""
        fit, pending = self._fit, self._fit.pending
        assert self._recorder is not None and pending is not None
        for index, callback in enumerate(fit.callbacks):
            if (index < fit.position) != before or not isinstance(callback, keras.callbacks.ModelCheckpoint):
                continue
            path = _saved_file(callback, pending, fit.bests.get(id(callback)))
            if path is None:
                continue
            judged = _saves_best(callback) and callback.monitor in pending.logs and \
                safe_key(callback.monitor) == fit.objective.get("metric")
            self._recorder.checkpoint(path, pending.number, is_best=True if judged else None,
                                      metrics=pending.logs, callback=type(callback).__name__)
            self._write_sidecar(os.path.dirname(path))

    def _register_batch_checkpoints(self, *, before: bool) -> None:
        """Register the files the batch `save_freq` ModelCheckpoints listed before (or after) this callback saved
        at the end of the last batch, under the epoch it is in, with its `batch` (1-based, as the file name's
        `{batch}`) and `step`."""
        fit, batch = self._fit, self._fit.batch
        if batch is None:
            return
        assert self._recorder is not None
        for index, callback in enumerate(fit.callbacks):
            if (index < fit.position) != before or not _saves_on_batches(callback):
                continue
            best_before = fit.batch_bests.get(id(callback))
            fit.batch_bests[id(callback)] = callback.best
            path = _saved_batch_file(callback, batch, best_before)
            if path is None:
                continue
            # a mid-epoch model is the best only as Keras judged it on the objective's metric (a batch's running
            # mean); the objective's best epoch is judged on whole epochs
            judged = _saves_best(callback) and callback.monitor in batch.logs and \
                safe_key(callback.monitor) == fit.objective.get("metric")
            self._recorder.checkpoint(path, batch.epoch, is_best=judged, metrics=batch.logs, batch=batch.batch + 1,
                                      step=batch.step, callback=type(callback).__name__)
            self._write_sidecar(os.path.dirname(path))

    def _write_sidecar(self, directory: str) -> None:
        """Name the experiment in `directory`/epochlog.json (once a fit), for a resumed fit to find."""
        experiment_id = self.experiment_id
        if directory in self._fit.sidecars or experiment_id is None:
            return
        self._fit.sidecars.add(directory)
        path = os.path.join(directory or ".", SIDECAR)
        try:
            os.makedirs(directory or ".", exist_ok=True)
            with open(f"{path}.tmp", "w", encoding="utf-8") as file:
                json.dump({"experiment_id": experiment_id}, file)
            os.replace(f"{path}.tmp", path)
        except OSError as error:  # a read-only checkpoint directory must not stop training
            log.warning("cannot write %s (a resumed fit will need experiment_id=%s): %s", path, experiment_id,
                        error)


# -- what the fit shows of itself -----------------------------------------------------------------------

def _inspect_fit(callback: EpochlogCallback) -> _Fit:
    """The fit's callbacks and arguments, read from the `fit` call of the model on the stack (the Keras
    trainers of every backend name them alike)."""
    model = callback.model
    frame: FrameType | None = sys._getframe(1)
    scope: dict[str, Any] = {}
    for _ in range(MAX_FRAMES):
        if frame is None:
            break
        if frame.f_code.co_name == "fit" and frame.f_locals.get("self") is model:
            scope = frame.f_locals
            break
        frame = frame.f_back
    listed = scope.get("callbacks")
    callbacks = list(listed.callbacks) if isinstance(listed, keras.callbacks.CallbackList) else [callback]
    position = next((index for index, other in enumerate(callbacks) if other is callback), 0)
    arguments = {key: scope[key] for key in FIT_ARGUMENTS if scope.get(key) is not None}
    adapter: Any = getattr(scope.get("epoch_iterator"), "data_adapter", None)
    if "batch_size" not in arguments and isinstance(getattr(adapter, "batch_size", None), int):
        arguments["batch_size"] = adapter.batch_size  # Keras' default for arrays, or the data loader's
    samples = {"train_samples": _adapter_samples(adapter), "valid_samples": _leading_size(scope.get("val_x"))}
    validates = scope.get("validation_data") is not None if scope else True
    fit = _Fit(arguments=arguments, callbacks=callbacks, position=position,
               samples={key: size for key, size in samples.items() if size is not None}, validates=validates)
    given = callback._options.fields.get("objective")
    fit.objective = dict(given) if given is not None else _objective(callbacks, model, validates)
    return fit


def _adapter_samples(adapter: Any) -> int | None:
    """How many samples the training data holds, from Keras' data adapter (None for a generator, a dataset of
    unknown length)."""
    try:
        batches, size = adapter.num_batches, adapter.batch_size
        partial = adapter.partial_batch_size if adapter.has_partial_batch else None
    except (AttributeError, NotImplementedError, TypeError):
        return None
    if not isinstance(batches, int) or not isinstance(size, int):
        return None
    return (batches - 1) * size + partial if isinstance(partial, int) and partial > 0 else batches * size


def _leading_size(data: Any) -> int | None:
    """The number of samples of array data (the first array's first dimension)."""
    if data is None:
        return None
    leaves = keras.tree.flatten(data)
    shape = getattr(leaves[0], "shape", None) if leaves else None
    return int(shape[0]) if shape is not None and len(shape) > 0 and shape[0] is not None else None


def _steps(params: Any) -> dict[str, int]:
    steps = params.get("steps") if isinstance(params, dict) else None
    return {"train_steps": steps} if isinstance(steps, int) else {}


def _config(model: Any, params: Any, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The optimizer's config, the compiled loss and metrics, the fit's arguments (see the module's docstring)."""
    config: dict[str, Any] = {}
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        config["optimizer"] = type(optimizer).__name__
        config.update((key, value) for key, value in optimizer.get_config().items() if key != "name")
    loss = getattr(model, "loss", None)
    if loss is not None:
        config["loss"] = _names(loss)
    metrics = [metric.name for metric in _compiled_metrics(model)]
    if metrics:
        config["metrics"] = metrics
    if isinstance(params, dict):
        config.update((key, params[name]) for key, name in (("epochs", "epochs"), ("steps_per_epoch", "steps"))
                      if params.get(name) is not None)
    config.update(arguments)
    return config


def _names(value: Any) -> Any:
    """A loss (or a structure of losses) by the names Keras gives them."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return {safe_key(key): _names(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_names(item) for item in value]
    return getattr(value, "name", None) or getattr(value, "__name__", None) or type(value).__name__


def _compiled_metrics(model: Any) -> Iterator[Any]:
    """The metrics given to `compile` (inside Keras' `CompileMetrics` containers, not the loss tracker)."""
    for metric in getattr(model, "metrics", None) or ():
        yield from getattr(metric, "metrics", None) or ()


def _model(model: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {"name": type(model).__name__, "keras_name": model.name}
    try:
        facts["parameters"] = int(model.count_params())
    except ValueError:  # a model that is not built
        return facts
    facts["trainable_parameters"] = sum(math.prod(weight.shape) for weight in model.trainable_weights)
    return facts


def _objective(callbacks: list[Any], model: Any, validates: bool) -> dict[str, str]:
    """The metric the fit optimizes, as its callbacks say (see the module's docstring)."""
    for kind in (keras.callbacks.ModelCheckpoint, keras.callbacks.EarlyStopping):
        for callback in callbacks:
            if isinstance(callback, kind) and (kind is not keras.callbacks.ModelCheckpoint or _saves_best(callback)):
                monitor = str(callback.monitor)
                mode = callback.mode if callback.mode in ("min", "max") else _auto_mode(monitor, model)
                return {"metric": safe_key(monitor), "mode": mode}
    return {"metric": "val_loss" if validates else "loss", "mode": "min"}


def _auto_mode(monitor: str, model: Any) -> str:
    """`mode="auto"` as Keras 3 resolves it (a loss is minimized, a metric goes the way it declares), and as
    Keras 2 did for a metric Keras 3 cannot place (an accuracy, an AUC is maximized)."""
    name = monitor.removeprefix("val_")
    if name == "loss":
        return "min"
    for metric in _compiled_metrics(model):
        direction = getattr(metric, "_direction", None)
        if metric.name == name and direction in ("up", "down"):
            return "max" if direction == "up" else "min"
    return "max" if any(part in name for part in MAXIMIZED) else "min"


def _saves_best(callback: Any) -> bool:
    return isinstance(callback, keras.callbacks.ModelCheckpoint) and bool(callback.save_best_only)


def _saves_on_batches(callback: Any) -> bool:
    return isinstance(callback, keras.callbacks.ModelCheckpoint) and isinstance(callback.save_freq, int)


def _saved_batch_file(checkpoint: Any, batch: _Batch, best_before: Any) -> str | None:
    """The absolute path a `save_freq=N` checkpoint saved at the end of `batch`, None if it saved nothing then:
    its count of batches since the last save was reset at this batch (Keras' `_should_save_on_batch`), and,
    for a `save_best_only` one whose monitor the batch logs hold, its `best` changed."""
    if getattr(checkpoint, "_last_batch_seen", None) != batch.batch or \
            getattr(checkpoint, "_batches_seen_since_last_saving", None) != 0:
        return None
    if _saves_best(checkpoint) and checkpoint.monitor in batch.logs and checkpoint.best is best_before:
        return None
    names = batch.logs if "batch" in batch.logs else {**batch.logs, "batch": batch.batch + 1}
    try:
        path = checkpoint.filepath.format(epoch=batch.epoch + 1, **names)  # as ModelCheckpoint names it
    except (KeyError, IndexError, ValueError):
        return None
    return os.path.abspath(path) if os.path.exists(path) else None


def _saved_file(checkpoint: Any, epoch: _Epoch, best_before: Any) -> str | None:
    """The absolute path `checkpoint` saved at the end of `epoch`, None if it saved nothing then (a
    `save_best_only` one saves when its `best` changed, or when its monitor is missing; one with a batch
    `save_freq` saves during the epoch, at a batch's end: `_saved_batch_file`)."""
    if checkpoint.save_freq != "epoch":
        return None
    if _saves_best(checkpoint) and checkpoint.monitor in epoch.logs and checkpoint.best is best_before:
        return None
    try:
        path = checkpoint.filepath.format(epoch=epoch.number + 1, **epoch.logs)  # as ModelCheckpoint names it
    except (KeyError, IndexError, ValueError):
        return None
    return os.path.abspath(path) if os.path.exists(path) else None


def _checkpoint_directories(callbacks: list[Any]) -> Iterator[str]:
    """Where a resumed fit looks for the experiment's id: backups first (Keras restores from them), then the
    directories of its checkpoints."""
    for callback in callbacks:
        if isinstance(callback, keras.callbacks.BackupAndRestore):
            yield str(callback.backup_dir)
    for callback in callbacks:
        if isinstance(callback, keras.callbacks.ModelCheckpoint):
            yield os.path.dirname(str(callback.filepath)) or "."


def _read_sidecar(directory: str) -> str | None:
    try:
        with open(os.path.join(directory, SIDECAR), encoding="utf-8") as file:
            found = json.load(file).get("experiment_id")
    except (OSError, ValueError, AttributeError):
        return None
    return found if isinstance(found, str) and found else None


def _caught_error() -> BaseException:
    """Why an unfinished fit ended: `fit` raised, the caller caught it and called `fit` again."""
    error = sys.exc_info()[1]  # still set when fit is called again inside the `except` block
    return error if error is not None else RuntimeError(
        "model.fit() raised before training ended (the exception was caught and fit() called again)")


__all__ = ["EpochlogCallback", "SIDECAR"]
