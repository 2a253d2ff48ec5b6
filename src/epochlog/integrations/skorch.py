"""skorch and braindecode: `EpochlogCallback` records a fit of any skorch `NeuralNet` into epochlog.

    from epochlog.integrations.skorch import EpochlogCallback
    net = EEGClassifier(EEGNeX, ..., callbacks=[EpochlogCallback(challenge=1)])

The experiment begins with the fit's first epoch (when the module, the callbacks and the train/valid split
exist) and records: the net's hyperparameters (`get_params`, and the parameters of the callbacks the user
added), the module's class and parameter count, the dataset sizes, every epoch's history row (skorch's own
epoch numbers, from 1, as `PrintLog` prints them), each batch's loss as the step series `train_batch_loss` and
`valid_batch_loss`, the files every `Checkpoint` callback saved, and how the fit ended.

An epoch is written once the next epoch begins (or the fit ends), so every callback has added its values to
the row whatever the order of the callbacks: a scoring callback listed after this one, `Checkpoint`'s
`event_cp`, an `EarlyStopping` that stops the fit inside `on_epoch_end`.

Resuming: each history row carries the experiment's id under `epochlog_experiment_id` (as skorch's own
callbacks leave `event_*` keys), so a fit that continues a history (`partial_fit`, `warm_start=True`, or a net
restored with `load_params(checkpoint=...)` / `LoadInitState` and fitted again) continues the same experiment;
its epochs keep skorch's numbering, so no epoch is logged twice. `experiment_id=` names the experiment to
continue explicitly. A plain `fit` of a net that is not warm-started begins a new experiment, as skorch begins
a new history.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from skorch.callbacks import Callback, Checkpoint, EarlyStopping
from skorch.dataset import get_len

from ..checkpoints import file_facts
from ..errors import NotFound
from ..tracker import Tracker
from .recorder import TrainingRecorder
from .values import config_value, model_facts, qualified_name, safe_key

HISTORY_KEY = "epochlog_experiment_id"  # the history column that ties a history to its experiment
SKIPPED_KEYS = frozenset({"batches", "epoch", HISTORY_KEY})  # history keys that are no epoch metric
MAX_CONFIG_CHARS = 2000  # a hyperparameter longer than this as JSON (a montage, a list of arrays) is summarized
_PARAMS = frozenset({"tracker", "uri", "experiment_id", "experiment_name", "challenge", "tags", "objective"})


class FitAborted(RuntimeError):
    """How a run ends whose fit raised: skorch tells its callbacks nothing then, the next fit finds it open."""


class EpochlogCallback(Callback):
    """Record each fit of the net as an epochlog experiment (see the module's documentation).

    `tracker=` or `uri=` chooses the store (else `get_tracker()`'s: `EPOCHLOG_URI` or `./epochlog.db`);
    `experiment_name`, `challenge`, `tags`, `objective` and any other keyword become the experiment's fields;
    `experiment_id=` continues that experiment. Without `objective=`, the metric a `Checkpoint` monitors
    (`monitor="valid_acc_best"` -> `valid_acc`, its direction from the scoring callback of that name) is the
    objective, else the one an `EarlyStopping` monitors, else `valid_loss` (`train_loss` without a validation
    split), lower is better.

    `experiment_id` is the experiment being recorded once a fit has begun. A pickled callback (a net saved
    with `Checkpoint(f_pickle=...)`) keeps `uri=` but not `tracker=`.
    """

    # the state of a fit (skorch takes attributes ending in '_' for no parameter)
    recorder_: TrainingRecorder | None
    skip_: bool  # another process than the main one of a distributed fit: record nothing
    began_: bool  # whether this fit's run began
    row_: dict[str, Any] | None  # the history row of the epoch being trained
    row_ended_: bool
    samples_: int | None
    train_steps_: int
    valid_steps_: int

    def __init__(self, *, tracker: Tracker | None = None, uri: str | os.PathLike[str] | None = None,
                 experiment_name: str | None = None, challenge: int | None = None,
                 tags: Iterable[str] | None = None, objective: Mapping[str, str] | None = None,
                 experiment_id: str | None = None, **fields: Any) -> None:
        # skorch (like scikit-learn) reads the parameters back from the attributes of their names, and takes
        # every attribute not ending in '_' for one
        self.tracker = tracker
        self.uri = uri
        self.experiment_name = experiment_name
        self.challenge = challenge
        self.tags = tags
        self.objective = objective
        self.experiment_id = experiment_id
        self.__dict__.update(fields)
        self.recorder_ = None
        self._reset_fit()

    # -- the experiment id: the parameter before a fit, the experiment recorded after --------------------

    @property
    def experiment_id(self) -> str | None:
        """The experiment being (or last) recorded; before the first fit, the one given to continue."""
        if self.recorder_ is not None and self.recorder_.experiment_id:
            return self.recorder_.experiment_id
        return self.__dict__.get("experiment_id")

    @experiment_id.setter
    def experiment_id(self, value: str | None) -> None:
        self.__dict__["experiment_id"] = value

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params: dict[str, Any] = super().get_params(deep=deep)
        params["experiment_id"] = self.__dict__.get("experiment_id")  # the parameter, not the live id
        return params

    # -- skorch's events ------------------------------------------------------------------------------

    def on_train_begin(self, net: Any, X: Any = None, y: Any = None, **kwargs: Any) -> None:
        self._reset_fit()
        self.skip_ = not _is_main_process(net)
        if self.skip_:
            return
        for _, callback in net.callbacks_:  # skorch's loggers print or send every key but those they ignore
            ignored = getattr(callback, "keys_ignored_", None)
            if isinstance(ignored, set):
                ignored.add(HISTORY_KEY)
        recorder = self.recorder_
        if recorder is not None and recorder.active and _history_id(net) != recorder.experiment_id:
            self._abandon()  # the last fit raised and this one starts a new history
        self.samples_ = _length(X)

    def on_epoch_begin(self, net: Any, dataset_train: Any = None, dataset_valid: Any = None,
                       **kwargs: Any) -> None:
        if self.skip_:
            return
        if self.began_:
            self._write_epoch(net)
        else:
            self._begin(net, dataset_train, dataset_valid)
        assert self.recorder_ is not None
        self.recorder_.epoch_began()
        net.history.record(HISTORY_KEY, self.recorder_.experiment_id)
        self.row_ = net.history[-1]
        self.row_ended_ = False

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        self.row_ended_ = True  # written when the next epoch begins: later callbacks still add to the row

    def on_batch_end(self, net: Any, batch: Any = None, training: bool = False, **kwargs: Any) -> None:
        if self.skip_ or self.recorder_ is None or not self.began_:
            return
        values = net.history[-1]["batches"][-1]
        if training:
            self.train_steps_ += 1
            self.recorder_.step(self.train_steps_, {"train_batch_loss": values.get("train_loss")})
        else:
            self.valid_steps_ += 1
            self.recorder_.step(self.valid_steps_, {"valid_batch_loss": values.get("valid_loss")})

    def on_train_end(self, net: Any, X: Any = None, y: Any = None, **kwargs: Any) -> None:
        if self.skip_ or self.recorder_ is None or not self.began_:
            return
        self._write_epoch(net)
        self.recorder_.end()  # stopped if Ctrl-C or SIGTERM came (skorch swallows KeyboardInterrupt)
        self.began_ = False

    # -- pickling: a net saved with the callback keeps its parameters, not the open run ---------------

    def __getstate__(self) -> dict[str, Any]:
        state = {key: value for key, value in self.__dict__.items() if not key.endswith("_")}
        state["tracker"] = None  # a tracker holds a store connection; uri= survives
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.recorder_ = None
        self._reset_fit()

    # -- mapping onto the recorder ----------------------------------------------------------------------

    def _reset_fit(self) -> None:
        self.skip_ = False
        self.began_ = False
        self.row_ = None
        self.row_ended_ = False
        self.samples_ = None
        self.train_steps_ = 0
        self.valid_steps_ = 0

    def _begin(self, net: Any, dataset_train: Any, dataset_valid: Any) -> None:
        """Begin, or continue, the experiment of this fit (at its first epoch)."""
        given = self.__dict__.get("experiment_id")
        target = given or _history_id(net)
        recorder = self.recorder_
        if recorder is not None and recorder.active and recorder.experiment_id != target:
            self._abandon()
        if recorder is None or not recorder.active:
            fields = {key: value for key, value in vars(self).items()
                      if key not in _PARAMS and not key.endswith("_")}
            recorder = self.recorder_ = TrainingRecorder(
                tracker=self.tracker, uri=self.uri, experiment_name=self.experiment_name,
                challenge=self.challenge, tags=self.tags, objective=self.objective, **fields)
            facts: dict[str, Any] = {
                "config": self._config(net), "model": model_facts(net.module_),
                "dataset": _dataset(self.samples_, dataset_train, dataset_valid), "objective": _objective(net)}
            try:
                recorder.start(resume_id=target, **facts)
            except NotFound:
                if given:
                    raise
                recorder.start(**facts)  # the history came from another store: a new experiment here
        self.began_ = True
        batches = [batch for row in net.history.to_list() for batch in row.get("batches", ())]
        self.train_steps_ = sum("train_loss" in batch for batch in batches)
        self.valid_steps_ = sum("valid_loss" in batch for batch in batches)

    def _write_epoch(self, net: Any) -> None:
        """Log the epoch whose row is kept (if it ended), then the checkpoints saved in it."""
        row, self.row_ = self.row_, None
        assert self.recorder_ is not None
        # an epoch cut short by Ctrl-C has no end; one that EarlyStopping ended before our on_epoch_end ran
        # has EpochTimer's duration (a default callback, so it always runs first)
        if row is None or not (self.row_ended_ or "dur" in row):
            return
        epoch = row.get("epoch", len(net.history))
        values = {key: value for key, value in row.items() if key not in SKIPPED_KEYS}
        self.recorder_.epoch(epoch, values)
        for name, callback in net.callbacks_:
            if isinstance(callback, Checkpoint) and _saved(callback, row):
                files = _checkpoint_files(callback, net, row)
                if files:
                    main = next(key for key in ("params", "pickle", *files) if key in files)
                    others = {key: {"path": path, **(file_facts(path) or {})}
                              for key, path in files.items() if key != main}
                    self.recorder_.checkpoint(files[main], epoch, metrics=values, callback=name, files=others)

    def _abandon(self) -> None:
        """End the open run of a fit that raised (skorch calls no callback on an exception)."""
        assert self.recorder_ is not None
        error = sys.exc_info()[1]  # known when this fit runs inside the `except` that caught the last one
        self.recorder_.end(error if error is not None else
                           FitAborted("fit() raised before training ended; the next fit began"))

    def _config(self, net: Any) -> dict[str, Any]:
        """The net's hyperparameters under skorch's own names, the user's callbacks' parameters included."""
        params = {key: value for key, value in net.get_params(deep=False).items()
                  if key != "callbacks" and not key.startswith("_")}
        defaults = {name for name, _ in net.get_default_callbacks()}
        for name, callback in net.callbacks_:
            if callback is self or name in defaults:
                continue
            params[f"callbacks__{name}"] = qualified_name(type(callback))
            for key, value in callback.get_params().items():
                params[f"callbacks__{name}__{key}"] = value
        return {safe_key(key): _bounded(config_value(value)) for key, value in params.items()}


def _is_main_process(net: Any) -> bool:
    """False on the other processes of a distributed fit (skorch's AccelerateMixin), which record nothing."""
    return bool(getattr(getattr(net, "accelerator", None), "is_main_process", True))


def _history_id(net: Any) -> str | None:
    """The experiment the net's history was last recorded into."""
    for row in reversed(net.history.to_list()):
        if isinstance(row.get(HISTORY_KEY), str):
            return str(row[HISTORY_KEY])
    return None


def _objective(net: Any) -> dict[str, str]:
    """The metric the fit optimizes, as its Checkpoint or EarlyStopping callbacks say (see the class)."""
    callbacks = [callback for _, callback in net.callbacks_]
    for callback in callbacks:
        monitor = getattr(callback, "monitor", None) if isinstance(callback, Checkpoint) else None
        if isinstance(monitor, str) and monitor.endswith("_best"):
            metric = monitor[:-len("_best")]
            for scoring in callbacks:  # the scoring callback that writes `<metric>_best` knows the direction
                lower = getattr(scoring, "lower_is_better", None)
                if getattr(scoring, "name", None) == metric and isinstance(lower, bool):
                    return {"metric": safe_key(metric), "mode": "min" if lower else "max"}
    for callback in callbacks:
        if isinstance(callback, EarlyStopping) and isinstance(callback.monitor, str):
            return {"metric": safe_key(callback.monitor), "mode": "min" if callback.lower_is_better else "max"}
    return {"metric": "valid_loss" if net.train_split is not None else "train_loss", "mode": "min"}


def _saved(checkpoint: Any, row: Mapping[str, Any]) -> bool:
    """Whether a Checkpoint saved in the epoch of `row` (its event column says; without one, only a
    checkpoint that saves every epoch can be told)."""
    if checkpoint.event_name:
        return bool(row.get(checkpoint.event_name))
    return checkpoint.monitor is None


def _checkpoint_files(checkpoint: Any, net: Any, row: Mapping[str, Any]) -> dict[str, str]:
    """The absolute paths a Checkpoint wrote in the epoch of `row`, by kind (`params`, `optimizer`, ...),
    its file names formatted as skorch documents it (`net`, `last_epoch`, `last_batch`)."""
    files = {}
    batches = row.get("batches") or [{}]
    for key, target in checkpoint.get_params().items():
        if not key.startswith("f_") or not isinstance(target, str):
            continue  # None (not saved) or a file-like object (no path to register)
        if key == "f_history":
            path = checkpoint.f_history_  # the history file's name is not formatted
        else:
            try:
                name = target.format(net=net, last_epoch=row, last_batch=batches[-1])
            except (KeyError, IndexError, AttributeError, ValueError):
                continue
            path = os.path.join(checkpoint.dirname, checkpoint.fn_prefix + name)
        files[key[len("f_"):]] = os.path.abspath(path)
    return files


def _dataset(samples: int | None, train: Any, valid: Any) -> dict[str, int]:
    sizes = {"samples": samples, "train_samples": _length(train), "valid_samples": _length(valid)}
    return {key: size for key, size in sizes.items() if size is not None}


def _length(data: Any) -> int | None:
    if data is None:
        return None
    try:
        return int(get_len(data))
    except (TypeError, ValueError, AttributeError):
        return None


def _bounded(value: Any) -> Any:
    """A config value, or a short description of it when it is too long to be a hyperparameter to compare."""
    text = json.dumps(value, default=str)
    if len(text) <= MAX_CONFIG_CHARS:
        return value
    if isinstance(value, list):
        return f"list of {len(value)} items"
    if isinstance(value, dict):
        return f"dict of {len(value)} keys"
    return text[:MAX_CONFIG_CHARS]


__all__ = ["EpochlogCallback", "FitAborted", "HISTORY_KEY"]
