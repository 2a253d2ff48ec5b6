"""`EpochlogLogger` and its callback written once, for either Lightning namespace: `lightning.pytorch` (see
`epochlog.integrations.lightning`) or `pytorch_lightning`. A Trainer accepts only a Logger and Callbacks of its own
namespace, so `lightning` and `pytorch_lightning` each mix `LoggerBase` and `CallbackBase` into that namespace's
`Logger` and `Callback`; Lightning's objects, of either namespace, are typed `Any` here.
"""

from __future__ import annotations

import logging
import os
import time
from argparse import Namespace
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from lightning_utilities.core.rank_zero import rank_zero_only, rank_zero_warn  # the ones both namespaces use

from ..errors import NotFound
from ..tracker import Tracker
from .recorder import TrainingRecorder
from .values import model_facts, safe_key

CHECKPOINT_KEY = "epochlog"  # the key of a Lightning checkpoint that holds the experiment it belongs to
DEFAULT_OBJECTIVE = {"metric": "val_loss", "mode": "min"}
log = logging.getLogger("epochlog.integrations.lightning")


@dataclass
class _Epoch:
    """The epoch being trained: its values as they arrive, whether it was written, its timing once written."""

    number: int
    values: dict[str, Any] = field(default_factory=dict)
    dirty: bool = False  # values came since it was last written
    timing: dict[str, Any] | None = None


@dataclass
class _Saved:
    """A checkpoint file saved, waiting for its epoch to be written (it carries that epoch's metrics)."""

    path: str
    epoch: int
    is_best: bool | None
    fields: dict[str, Any]


class LoggerBase:
    """A Lightning logger recording each `Trainer.fit` as an epochlog experiment (see
    `epochlog.integrations.lightning`).

    `tracker=` or `uri=` chooses the store (the default is `get_tracker()`'s: `EPOCHLOG_URI`, else
    `./epochlog.db`); `experiment_id=` continues an existing experiment; `experiment_name`, `challenge`, `tags`,
    `objective` and any other keyword (`notes`, `config`, `dataset`, ...) go to the experiment, over what the
    trainer reports. Without `objective=`, the metric the first `ModelCheckpoint(monitor=..., mode=...)` watches
    is the objective, else the one an `EarlyStopping` watches, else `val_loss`, lower is better.
    """

    # set by each namespace's subclass: the namespace (`lightning.pytorch` or `pytorch_lightning`), its callback
    _lightning: ModuleType
    _callback_type: type[CallbackBase]

    def __init__(self, *, tracker: Tracker | None = None, uri: str | os.PathLike[str] | None = None,
                 experiment_id: str | None = None, experiment_name: str | None = None,
                 challenge: int | None = None, tags: Iterable[str] | None = None,
                 objective: Mapping[str, Any] | None = None, **fields: Any) -> None:
        super().__init__()
        self._recorder = TrainingRecorder(tracker=tracker, uri=uri, experiment_id=experiment_id,
                                          experiment_name=experiment_name, challenge=challenge, tags=tags,
                                          objective=objective, **fields)
        self._given_id = experiment_id
        self._experiment_name = experiment_name
        self._callback = self._callback_type(self)
        self._hparams: dict[str, Any] = {}
        self._version: str | None = None
        self._checkpointed: str | None = None  # the experiment id of the checkpoint the fit resumes from
        self._warned = False
        self._reset(None)

    def _reset(self, trainer: Any) -> None:
        """Forget the last fit's state (a fit begins)."""
        self._trainer = trainer
        self._objective: Mapping[str, Any] = DEFAULT_OBJECTIVE
        self._error: BaseException | None = None
        self._in_step = False  # between a batch's end and the next epoch end: values are step values
        self._epoch_ended = False  # the training epoch ended: its own metrics complete its row
        self._epoch: _Epoch | None = None  # the epoch whose values arrive, kept until the next one's come
        self._written = -1  # the last epoch written
        self._started_epoch: int | None = None
        self._pending: list[_Saved] = []
        self._seen_files: dict[str, int] = {}  # checkpoint files registered, with their mtime

    # -- what Lightning asks of a logger --------------------------------------------------------------

    @property
    def callback(self) -> CallbackBase:
        """The callback the logger adds to the trainer itself (pass it in `callbacks=` only when the trainer
        does not log hyperparameters: `Trainer(enable_autolog_hparams=False)`)."""
        return self._callback

    @property
    def experiment_id(self) -> str | None:
        """The experiment's id once training has started (None before, and on every rank but zero)."""
        return self._recorder.experiment_id

    @property
    def experiment(self) -> Tracker:
        """The tracker the runs are recorded through (`self.logger.experiment` in a LightningModule); on every
        rank but zero Lightning's stand-in, which ignores every call (its `rank_zero_experiment`)."""
        return self._lightning.loggers.logger.rank_zero_experiment(_tracker)(self)

    @property
    def name(self) -> str:
        """The directory Lightning puts its files under when `ModelCheckpoint` has no `dirpath`."""
        return "epochlog"

    @property
    def version(self) -> str:
        """The experiment id once known (given, or begun), else a time stamp: `ModelCheckpoint` names its
        directory after the version before a new experiment begins."""
        if self.experiment_id:
            return self.experiment_id
        if self._version is None:
            self._version = time.strftime("run-%Y%m%d-%H%M%S")
        return self._version

    @property
    def save_dir(self) -> str | None:
        return None  # the store is no directory: Lightning puts its files under default_root_dir

    @rank_zero_only
    def log_hyperparams(self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any) -> None:
        hparams = dict(vars(params) if isinstance(params, Namespace) else params)
        if self._recorder.active:  # called by the user during training
            self._recorder.merge(config=hparams)
        else:
            self._hparams = hparams

    @rank_zero_only
    def log_graph(self, model: Any, input_array: Any = None) -> None:
        try:
            trainer = model.trainer
        except (AttributeError, RuntimeError):  # no LightningModule, or one not attached to a trainer
            return
        if isinstance(trainer, self._lightning.Trainer):
            self._attach(trainer)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        if not self._recorder.active:
            if not self._warned and self._trainer is None:
                self._warned = True
                rank_zero_warn("EpochlogLogger records nothing: the trainer never passed it the model (with "
                               "Trainer(enable_autolog_hparams=False), add callbacks=[logger.callback])")
            return
        values = {key: value for key, value in metrics.items() if key != "epoch"}
        if self._in_step:
            self._recorder.step(int(step or 0), values)
            return
        number = self._current_epoch(metrics)
        if self._epoch is None or self._epoch.number != number:
            self._write_epoch()
            self._epoch = _Epoch(number)
        self._epoch.values.update(values)
        self._epoch.dirty = True
        if self._epoch_ended or self._epoch.timing is not None:
            self._write_epoch()

    @rank_zero_only
    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        if not self._recorder.active:
            return
        epoch = self._checkpoint_epoch()
        monitor = getattr(checkpoint_callback, "monitor", None)
        best = _absolute(getattr(checkpoint_callback, "best_model_path", ""))
        last = _absolute(getattr(checkpoint_callback, "last_model_path", ""))
        scores = {_absolute(path): score for path, score in getattr(checkpoint_callback, "best_k_models", {}).items()}
        for path in _new_files(checkpoint_callback, self._seen_files):
            is_best = None  # the recorder judges by the objective's best epoch
            if monitor is not None and safe_key(monitor) == self._objective.get("metric") and best:
                is_best = path == best  # the callback judged by our objective's metric
            fields: dict[str, Any] = {"monitor": monitor, "last": path == last}
            if path in scores:
                fields["score"] = scores[path]
            if self._trainer is not None:
                fields["global_step"] = self._trainer.global_step
            self._pending.append(_Saved(path, epoch, is_best, fields))
        self._write_checkpoints(self._written)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if not self._recorder.active:
            return
        self._write_epoch()
        self._write_checkpoints()  # every one: the fit is over
        error = None
        if status == "failed":
            error = self._error or RuntimeError("Lightning ended the fit as failed")
        self._recorder.end(error)

    # -- the callback's events --------------------------------------------------------------------------

    def _attach(self, trainer: Any) -> None:
        """Begin recording the fit `trainer` runs (the first time the logger sees it)."""
        fitting = trainer.state.fn == self._lightning.trainer.states.TrainerFn.FITTING
        if self._recorder.active or not fitting or not trainer.is_global_zero:
            return
        self._reset(trainer)
        callbacks: list[Any] = trainer.callbacks
        if self._callback not in callbacks:
            # before the checkpoint callbacks, which Lightning runs last
            checkpoint = self._lightning.callbacks.Checkpoint
            first = next((i for i, c in enumerate(callbacks) if isinstance(c, checkpoint)), len(callbacks))
            callbacks.insert(first, self._callback)
            # the checkpoint was restored before the callback was there (Lightning keeps it loaded until the
            # training state is restored, after log_graph)
            loaded = getattr(getattr(trainer, "_checkpoint_connector", None), "_loaded_checkpoint", None)
            if isinstance(loaded, dict):
                self._read_checkpoint(loaded)
        for callback in trainer.checkpoint_callbacks:  # the files a resumed ModelCheckpoint had saved before
            _new_files(callback, self._seen_files)
        self._objective = self._recorder.objective or _objective(trainer, self._lightning)
        module = trainer.lightning_module
        facts: dict[str, Any] = {"config": self._hparams or _hparams(trainer), "model": _model(module),
                                 "objective": self._objective}
        target = self._given_id or self._checkpointed
        try:
            self._recorder.start(resume_id=target, **facts)
        except NotFound:
            if target is None or target == self._given_id:
                raise
            log.warning("the checkpoint's experiment %s is not in this store: the fit is recorded as a new "
                        "experiment", target)
            self._recorder.start(**facts)
        self._hparams, self._checkpointed = {}, None

    def _read_checkpoint(self, checkpoint: Mapping[str, Any]) -> None:
        saved = checkpoint.get(CHECKPOINT_KEY)
        value = saved.get("experiment_id") if isinstance(saved, Mapping) else None
        if isinstance(value, str) and value:
            self._checkpointed = value

    def _train_started(self, trainer: Any) -> None:
        if not self._recorder.active:
            self._attach(trainer)
        sizes = _sizes(train=trainer.train_dataloader, val=trainer.val_dataloaders)
        if sizes:
            self._recorder.merge(dataset=sizes)

    def _epoch_began(self, trainer: Any) -> None:
        self._write_epoch()
        self._write_checkpoints(trainer.current_epoch - 1)  # those of an epoch that logged no epoch values
        self._in_step = self._epoch_ended = False
        self._started_epoch = trainer.current_epoch
        self._recorder.epoch_began()

    def _evaluation_ended(self, trainer: Any) -> None:
        if not trainer.sanity_checking:
            self._in_step = False

    def _train_epoch_ended(self) -> None:
        self._in_step = False
        self._epoch_ended = True

    def _batch_ended(self) -> None:
        self._in_step = True

    def _train_ended(self) -> None:
        self._write_epoch()
        self._write_checkpoints()

    # -- writing ----------------------------------------------------------------------------------------

    def _current_epoch(self, metrics: Mapping[str, Any]) -> int:
        if self._trainer is not None:
            return int(self._trainer.current_epoch)
        return int(metrics.get("epoch", 0))

    def _checkpoint_epoch(self) -> int:
        """The epoch a checkpoint saved now belongs to: the one being trained, or the last one after it ended
        (Lightning has counted it as completed by `on_train_end`)."""
        current = int(self._trainer.current_epoch) if self._trainer is not None else 0
        return min(current, self._started_epoch) if self._started_epoch is not None else current

    def _write_epoch(self) -> None:
        """Log the epoch kept if values came since it was written (again then, with all of them: a row
        logged again replaces the one before, its duration kept), then the checkpoints saved in it."""
        epoch = self._epoch
        if epoch is None or not epoch.dirty:
            return
        fields: dict[str, Any] = {"global_step": self._trainer.global_step} if self._trainer is not None else {}
        epoch.timing = self._recorder.epoch(epoch.number, epoch.values, timing=epoch.timing, **fields)
        epoch.dirty = False
        self._written = max(self._written, epoch.number)
        self._write_checkpoints(epoch.number)

    def _write_checkpoints(self, through: int | None = None) -> None:
        """Register the checkpoints saved in epochs up to `through` (all of them without), each with its epoch's
        values: after its epoch, so the recorder can tell whether it is the best one."""
        keep = []
        for saved in self._pending:
            if through is not None and saved.epoch > through:
                keep.append(saved)
                continue
            row = self._epoch if self._epoch is not None and self._epoch.number == saved.epoch else None
            self._recorder.checkpoint(saved.path, saved.epoch, is_best=saved.is_best,
                                      metrics=row.values if row is not None else None, **saved.fields)
        self._pending = keep


class CallbackBase:
    """The trainer's events an `EpochlogLogger` needs: it tells step values from epoch values, ends the
    epochs, and keeps the experiment id in every checkpoint. The logger adds it to the trainer itself."""

    def __init__(self, logger: LoggerBase) -> None:
        self.logger = logger

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        if trainer.is_global_zero:
            self.logger._train_started(trainer)

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        if trainer.is_global_zero:
            self.logger._epoch_began(trainer)

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.logger._batch_ended()

    def on_validation_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any,
                                batch_idx: int, dataloader_idx: int = 0) -> None:
        self.logger._batch_ended()

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self.logger._evaluation_ended(trainer)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self.logger._train_epoch_ended()

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.is_global_zero:
            self.logger._train_ended()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self.logger._error = exception  # Lightning finalizes the logger as "failed" next, Ctrl-C included

    def on_save_checkpoint(self, trainer: Any, pl_module: Any, checkpoint: dict[str, Any]) -> None:
        experiment_id = self.logger.experiment_id
        if experiment_id:
            checkpoint[CHECKPOINT_KEY] = {"experiment_id": experiment_id}

    def on_load_checkpoint(self, trainer: Any, pl_module: Any, checkpoint: dict[str, Any]) -> None:
        self.logger._read_checkpoint(checkpoint)


def _hparams(trainer: Any) -> dict[str, Any]:
    """The hyperparameters Lightning logs: the LightningModule's and the datamodule's `hparams_initial`."""
    hparams = dict(trainer.lightning_module.hparams_initial)
    datamodule = trainer.datamodule
    if datamodule is not None:
        hparams.update(datamodule.hparams_initial)
    return {key: value for key, value in hparams.items() if key != "_class_path"}


def _model(module: Any) -> dict[str, Any]:
    facts = model_facts(module)
    inner = [child for child in module.children() if any(True for _ in child.parameters())]
    if len(inner) == 1:
        facts["module"] = type(inner[0]).__name__
    return facts


def _objective(trainer: Any, lightning: ModuleType) -> dict[str, str]:
    """The metric the fit optimizes, as its ModelCheckpoint or EarlyStopping callbacks say."""
    for kind in (lightning.callbacks.ModelCheckpoint, lightning.callbacks.EarlyStopping):
        for callback in trainer.callbacks:
            monitor = getattr(callback, "monitor", None)
            if isinstance(callback, kind) and isinstance(monitor, str) and monitor:
                return {"metric": safe_key(monitor), "mode": "max" if getattr(callback, "mode", "") == "max" else "min"}
    return dict(DEFAULT_OBJECTIVE)


def _sizes(**loaders: Any) -> dict[str, int]:
    """`<name>_size` of each dataloader's dataset that has a length; `<name>_<i>_size` for a list of them."""
    sizes = {}
    for name, loader in loaders.items():
        items = loader if isinstance(loader, (list, tuple)) else [loader]
        for index, item in enumerate(items):
            try:
                size = len(item.dataset)
            except (AttributeError, TypeError):
                continue
            sizes[f"{name}_{index}_size" if len(items) > 1 else f"{name}_size"] = size
    return sizes


def _tracker(logger: LoggerBase) -> Tracker:
    return logger._recorder.tracker


def _absolute(path: Any) -> str:
    return os.path.abspath(path) if isinstance(path, str) and path else ""


def _new_files(checkpoint: Any, seen: dict[str, int]) -> list[str]:
    """The files a ModelCheckpoint holds (last, best, top k) that were written since they were last seen, the
    way Lightning's own loggers find the file just saved."""
    paths = {getattr(checkpoint, "last_model_path", ""), getattr(checkpoint, "best_model_path", ""),
             *getattr(checkpoint, "best_k_models", {})}
    found = []
    for path in sorted(filter(None, map(_absolute, paths))):
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            continue
        if seen.get(path) != mtime:
            seen[path] = mtime
            found.append(path)
    return found


__all__ = ["CHECKPOINT_KEY", "CallbackBase", "LoggerBase"]
