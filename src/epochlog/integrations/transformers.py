"""The Hugging Face `Trainer` integration: `Trainer(..., callbacks=[EpochlogCallback(challenge=1)])`.

What a training records, with no naming by the user:

- the experiment, when `trainer.train()` begins (on the main process only, `state.is_world_process_zero`):
  `config` is `TrainingArguments.to_dict()` without the `*_token` secrets, plus `model_config` (the model's
  `config.to_dict()`) and `trial_params` in a hyperparameter search; `model` is the class name, the parameter
  count and `name_or_path`; `dataset` holds `train_size` and, from the first evaluation on, `eval_size`
  (`eval_<name>_size` for each of a dict of evaluation sets); the name is `run_name` (or the trial's name);
  the objective is `metric_for_best_model` with the `eval_` prefix the Trainer adds and `greater_is_better`
  (`eval_loss`/min when unset), unless `objective=` was given;
- every evaluation during training as an epoch: its metrics (`eval_loss`, ...) and `train_loss`, the mean of
  the training losses logged since the previous evaluation, with the fields `global_step` and `train_epoch`
  (the Trainer's float epoch). The epoch's number is the Trainer's own epoch count with
  `eval_strategy="epoch"` (1 after the first epoch, as its logs show `epoch: 1.0`; a partial last epoch
  counts as one); with any other strategy it is the evaluation's index (1, 2, ...). Both read the Trainer's
  state, so a resumed training numbers its epochs as the first run did. An evaluation before training
  (`eval_on_start`) is epoch 0;
- the training logs (`loss`, `learning_rate`, `grad_norm`, ...) as step series at `state.global_step`, and the
  train summary (`train_runtime`, `train_loss`, `total_flos`, ...) in the experiment's `metrics` at the end;
- every checkpoint the Trainer saves: the `checkpoint-<step>` directory (size and sha256 of its manifest), the
  epoch and metrics of the evaluation at that step, and `is_best` from `state.best_model_checkpoint` when
  `metric_for_best_model` is set (else: the checkpoint of the objective's best epoch);
- how it ended: completed at `on_train_end` (early stopping included); failed when `train()` raised (the
  Trainer reports no error to callbacks: an uncaught one ends the run from `sys.excepthook`, an exit without
  the end from `atexit`, and an exception the caller caught is recorded when `train()` is called again);
  stopped on Ctrl-C or SIGTERM.

Resuming: `trainer.train(resume_from_checkpoint=...)` continues the experiment the checkpoint belongs to. The
callback is an `ExportableState`, so the Trainer writes its experiment id into each checkpoint's
`trainer_state.json` (`stateful_callbacks`) and loads it back with the checkpoint; the epochs after the
checkpoint are logged again under the same numbers, replacing the ones a killed run left.
"""

from __future__ import annotations

import glob
import logging
import math
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.trainer_callback import ExportableState

from ..errors import NotFound
from ..tracker import Tracker
from .recorder import RecorderOptions, TrainingRecorder
from .values import config_value, metric_value, model_facts, safe_key

log = logging.getLogger("epochlog.integrations.transformers")


@dataclass
class _Evaluation:
    """The evaluation logged last: a dict of evaluation sets arrives as one `on_evaluate` per set."""

    step: int
    epoch: int
    values: dict[str, Any]
    timing: dict[str, Any]


class EpochlogCallback(TrainerCallback, ExportableState):
    """Records a `Trainer`'s training as one epochlog experiment (see the module's docstring for what).

    `tracker=` or `uri=` chooses the store (the default is `get_tracker()`'s: `EPOCHLOG_URI`, else
    `./epochlog.db`); `experiment_id=` continues an existing experiment; `experiment_name`, `challenge`,
    `tags`, `objective` and any other keyword (`notes`, `config`, `dataset`, ...) go to the experiment, over
    what the Trainer reports. `.experiment_id` is the experiment's id once training has started.
    """

    def __init__(self, *, tracker: Tracker | None = None, uri: str | os.PathLike[str] | None = None,
                 experiment_id: str | None = None, experiment_name: str | None = None,
                 challenge: int | None = None, tags: Iterable[str] | None = None,
                 objective: Mapping[str, Any] | None = None, **fields: Any) -> None:
        self._options = RecorderOptions.given(tracker=tracker, uri=uri, experiment_name=experiment_name,
                                              challenge=challenge, tags=tags, objective=objective, fields=fields)
        self._resume_id = experiment_id
        self._recorder: TrainingRecorder | None = None
        self._evaluation: _Evaluation | None = None
        self._losses: list[float] = []  # training losses logged since the last evaluation
        self._sized: set[str] = set()  # dataset sizes merged into the experiment already

    @property
    def experiment_id(self) -> str | None:
        """The experiment's id once training has started (None before, and on every process but the main one)."""
        if self._recorder is not None and self._recorder.experiment_id:
            return self._recorder.experiment_id
        return self._resume_id

    @experiment_id.setter
    def experiment_id(self, value: str | None) -> None:
        # how the Trainer hands a checkpoint's experiment back with `restore_callback_states_from_checkpoint`
        self._resume_id = value

    # -- ExportableState: the experiment id travels in every checkpoint's trainer_state.json -------------

    def state(self) -> dict[str, Any]:
        """The arguments that rebuild this callback (a `tracker=` cannot be saved) and its experiment."""
        given = self._options
        options = {"uri": os.fspath(given.uri) if given.uri is not None else None,
                   "experiment_name": given.experiment_name, "challenge": given.challenge, "tags": given.tags,
                   **given.fields}
        return {"args": {key: config_value(value) for key, value in options.items() if value is not None},
                "attributes": {"experiment_id": self.experiment_id}}

    # -- the Trainer's events -------------------------------------------------------------------------

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                       model: Any = None, train_dataloader: Any = None, **kwargs: Any) -> None:
        checkpointed = _checkpointed_experiment(state, type(self).__name__) if state.global_step > 0 else None
        if isinstance(state.stateful_callbacks, dict):
            # a checkpoint saved without this callback has no entry, and the Trainer's next save would fail
            state.stateful_callbacks.setdefault(type(self).__name__, self.state())
        if not state.is_world_process_zero:
            return
        self._evaluation, self._losses = None, []
        target = self._resume_id or checkpointed
        current = self._recorder
        if current is not None and current.active:
            if target == current.experiment_id or target is None and args.auto_find_batch_size:
                return  # the same training again: resumed in this process, or retried with a smaller batch
            current.end(None if current.interrupted else _caught_error())
        self._sized = set()
        config, facts = _config(args, state, model), _model(model)
        sizes, objective = _sizes(train=getattr(train_dataloader, "dataset", None)), _objective(args)
        recorder = self._new_recorder(target, state.trial_name or args.run_name)
        try:
            recorder.start(config=config, model=facts, dataset=sizes, objective=objective)
        except NotFound:
            if target is None or target == self._resume_id:
                raise
            log.warning("the checkpoint's experiment %s is not in this store: training is recorded as a new "
                        "experiment", target)
            recorder = self._new_recorder(None, state.trial_name or args.run_name)
            recorder.start(config=config, model=facts, dataset=sizes, objective=objective)
        self._recorder = recorder

    def on_epoch_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                       **kwargs: Any) -> None:
        if self._recording(state) and args.eval_strategy == "epoch":
            assert self._recorder is not None
            self._recorder.epoch_began()

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
               logs: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        if not self._recording(state) or not logs:
            return
        assert self._recorder is not None
        values = {key: value for key, value in logs.items() if key != "epoch"}
        if "total_flos" in logs:  # only the summary `train()` logs at its end has it
            self._recorder.merge(metrics=values)
        elif _evaluation_prefix(logs) is None:  # evaluations are epochs (on_evaluate)
            self._recorder.step(state.global_step, values)
            loss = metric_value(logs.get("loss"))
            if isinstance(loss, float) and math.isfinite(loss):
                self._losses.append(loss)

    def on_evaluate(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                    metrics: Mapping[str, Any] | None = None, eval_dataloader: Any = None, **kwargs: Any) -> None:
        if not self._recording(state) or not metrics:
            return
        assert self._recorder is not None
        values = {key: value for key, value in metrics.items() if key != "epoch"}
        last = self._evaluation
        timing: dict[str, Any] | None = None
        if last is not None and last.step == state.global_step:  # the next set of a dict of evaluation sets
            epoch, values, timing = last.epoch, {**last.values, **values}, last.timing
        else:
            epoch = _epoch_number(args, state)
            if self._losses:
                values = {"train_loss": sum(self._losses) / len(self._losses), **values}
            self._losses = []
        logged = self._recorder.epoch(epoch, values, timing=timing, global_step=state.global_step,
                                      train_epoch=float(state.epoch or 0.0))
        self._evaluation = _Evaluation(state.global_step, epoch, values, logged)
        prefix = _evaluation_prefix(metrics)
        if prefix is not None and prefix not in self._sized:
            self._sized.add(prefix)
            self._recorder.merge(dataset=_sizes(**{prefix: getattr(eval_dataloader, "dataset", None)}))

    def on_save(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                **kwargs: Any) -> None:
        if not self._recording(state):
            return
        assert self._recorder is not None
        path = _checkpoint_dir(args, state)
        evaluation = self._evaluation if self._evaluation is not None and \
            self._evaluation.step == state.global_step else None
        is_best = None
        if args.metric_for_best_model and self._recorder.objective is None and state.best_model_checkpoint:
            # the Trainer judged by the metric our objective was made from
            is_best = os.path.abspath(state.best_model_checkpoint) == os.path.abspath(path)
        self._recorder.checkpoint(path, evaluation.epoch if evaluation else _epoch_number(args, state),
                                  is_best=is_best, metrics=evaluation.values if evaluation else None,
                                  global_step=state.global_step)

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                     **kwargs: Any) -> None:
        if self._recording(state):
            assert self._recorder is not None
            self._recorder.end()

    # -- internals ------------------------------------------------------------------------------------

    def _recording(self, state: TrainerState) -> bool:
        return bool(state.is_world_process_zero) and self._recorder is not None and self._recorder.active

    def _new_recorder(self, experiment_id: str | None, run_name: str | None) -> TrainingRecorder:
        return self._options.recorder(experiment_id, run_name)


def _checkpointed_experiment(state: TrainerState, name: str) -> str | None:
    """The experiment id a resumed checkpoint's `trainer_state.json` holds for this callback."""
    saved = state.stateful_callbacks.get(name) if isinstance(state.stateful_callbacks, dict) else None
    # the Trainer keeps a list when several callbacks share the name (and appends at every save): the last wins
    for entry in reversed(saved if isinstance(saved, list) else [saved]):
        attributes = entry.get("attributes") if isinstance(entry, dict) else None
        value = attributes.get("experiment_id") if isinstance(attributes, dict) else None
        if isinstance(value, str) and value:
            return value
    return None


def _caught_error() -> BaseException:
    """Why an unfinished training ended: `train()` raised, the caller caught it and called `train()` again."""
    error = sys.exc_info()[1]  # still set when train() is called again inside the `except` block
    return error if error is not None else RuntimeError(
        "trainer.train() raised before training ended (the exception was caught and train() called again)")


def _config(args: TrainingArguments, state: TrainerState, model: Any) -> dict[str, Any]:
    config = {key: value for key, value in args.to_dict().items() if not key.endswith("_token")}
    model_config = getattr(model, "config", None)
    if model_config is not None and callable(getattr(model_config, "to_dict", None)):
        config["model_config"] = model_config.to_dict()
    if state.trial_params:
        config["trial_params"] = dict(state.trial_params)
    return config


def _model(model: Any) -> dict[str, Any]:
    if model is None:
        return {}
    facts = model_facts(model)
    name_or_path = getattr(getattr(model, "config", None), "name_or_path", None)
    if isinstance(name_or_path, str) and name_or_path:
        facts["name_or_path"] = name_or_path  # the pretrained checkpoint it was loaded from
    return facts


def _sizes(**datasets: Any) -> dict[str, int]:
    """`<name>_size` of each dataset that has a length (an iterable dataset has none)."""
    sizes = {}
    for name, dataset in datasets.items():
        try:
            sizes[f"{name}_size"] = len(dataset)
        except TypeError:
            continue
    return sizes


def _objective(args: TrainingArguments) -> dict[str, str]:
    """The Trainer's own notion of the best model: `metric_for_best_model` as it appears in the evaluation
    metrics (the Trainer adds `eval_`), higher is better when `greater_is_better`; `eval_loss`/min if unset."""
    metric = args.metric_for_best_model or "loss"
    if not metric.startswith("eval_"):
        metric = f"eval_{metric}"
    greater = bool(args.greater_is_better) if args.metric_for_best_model else False
    return {"metric": safe_key(metric), "mode": "max" if greater else "min"}


def _evaluation_prefix(values: Mapping[str, Any]) -> str | None:
    """`eval` (or `eval_<set>`) for the metrics of an evaluation, None for others: every evaluation reports
    `<prefix>_runtime`; the training summary's `train_runtime` is no evaluation."""
    for key in values:
        if key.endswith("_runtime") and key != "train_runtime":
            return key[:-len("_runtime")]
    return None


def _epoch_number(args: TrainingArguments, state: TrainerState) -> int:
    """The epoch an evaluation at this point is logged as (see the module's docstring)."""
    if args.eval_strategy == "epoch":
        return max(0, math.ceil(round(float(state.epoch or 0.0), 6)))
    # the Trainer restores log_history with a checkpoint, so a resumed training counts on from it
    steps = {entry["step"] for entry in state.log_history
             if _evaluation_prefix(entry) is not None and 0 < entry.get("step", 0) <= state.global_step}
    return len(steps)


def _checkpoint_dir(args: TrainingArguments, state: TrainerState) -> str:
    """The directory the Trainer has just saved: `checkpoint-<step>` in `output_dir`, or in the trial's own
    directory below it during a hyperparameter search."""
    name = f"checkpoint-{state.global_step}"
    root = args.output_dir or "trainer_output"  # the Trainer's own default
    path = os.path.join(root, name)
    if not os.path.isdir(path) and state.is_hyper_param_search:
        found = glob.glob(os.path.join(glob.escape(root), "*", name))
        if found:
            path = max(found, key=os.path.getmtime)
    return path


__all__ = ["EpochlogCallback"]
