"""The bookkeeping every integration shares: a framework's training mapped onto one tracker run.

An integration calls `start` when training begins (with what the framework knows: hyperparameters, model,
dataset sizes, objective), `epoch` and `step` as values arrive, `checkpoint` when the framework saved one, and
`end` when training ended (with the exception, if any). Between `start` and `end` the run's heartbeat thread is
running, SIGTERM stops the run as the run handle does, and Ctrl-C is remembered, so a framework that swallows
`KeyboardInterrupt` (skorch does) still ends the run as `stopped`. If the process leaves without `end` (an
uncaught exception, `sys.exit`), or a notebook cell raised out of training (IPython calls no `sys.excepthook`),
the run is ended then, as failed or stopped.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any

from ..console import ConsoleSpec, console_mode
from ..errors import InvalidArgument
from ..run import Run, Terminated
from ..tracker import Tracker
from .values import config_value, metric_value, metric_values, safe_key, step_values

MERGEABLE = ("metrics", "model", "dataset", "config")  # the experiment's sections `merge` adds keys to


class TrainingRecorder:
    """One training run of a framework, recorded through a tracker.

    `tracker=` or `uri=` chooses the store (the default is `get_tracker()`'s); `experiment_id=` continues an
    existing experiment instead of creating one; every other keyword (`experiment_name`, `challenge`, `tags`,
    `objective`, `config`, `model`, `dataset`, `notes`, any field) goes to `create_experiment`, over what the
    framework reports (a given `config` is merged over the framework's hyperparameters). `console` captures
    what the process prints while training runs (`Tracker.start_run`'s, on by default; False to turn it off).
    """

    def __init__(self, *, tracker: Tracker | None = None, uri: str | os.PathLike[str] | None = None,
                 experiment_id: str | None = None, experiment_name: str | None = None,
                 challenge: int | None = None, tags: Iterable[str] | None = None, console: ConsoleSpec = True,
                 **fields: Any) -> None:
        if tracker is not None and uri is not None:
            raise InvalidArgument("give tracker= or uri=, not both")
        mode = console_mode(console)
        self._console: ConsoleSpec = "fds" if mode == "fds" else mode is not None
        self._tracker = tracker
        self._uri = uri
        self._owns_tracker = tracker is None
        self._resume_id = experiment_id
        self._fields: dict[str, Any] = {"experiment_name": experiment_name, "challenge": challenge,
                                        "tags": tags, **fields}
        self.run: Run | None = None
        self._signal: int | None = None  # SIGINT or SIGTERM, once received during the run
        self._previous_handlers: dict[int, Any] = {}
        self._previous_excepthook: Any = None
        self._shell: Any = None  # the IPython shell whose post_run_cell event ends a run a cell's error left open
        self._epoch_started: float | None = None
        self._lock = threading.Lock()

    # -- state --------------------------------------------------------------------------------------

    @property
    def experiment_id(self) -> str | None:
        """The experiment's id once training has started (None before)."""
        return self.run.id if self.run is not None else (self._resume_id or None)

    @property
    def active(self) -> bool:
        return self.run is not None and not self.run.finished

    @property
    def interrupted(self) -> bool:
        """Whether Ctrl-C or SIGTERM arrived during the open run (`end()` then records it as stopped)."""
        return self._signal is not None

    @property
    def tracker(self) -> Tracker:
        if self._tracker is None:
            from ..tracker import get_tracker

            self._tracker = get_tracker(self._uri)
        return self._tracker

    @property
    def objective(self) -> Mapping[str, Any] | None:
        """The objective the user gave, if any (an integration's own choice yields to it)."""
        return self._fields.get("objective")

    # -- the framework's events ---------------------------------------------------------------------

    def start(self, *, config: Mapping[str, Any] | None = None, model: Mapping[str, Any] | None = None,
              dataset: Mapping[str, Any] | None = None, objective: Mapping[str, Any] | None = None,
              resume_id: str | None = None) -> str:
        """Begin (or continue) the experiment; calling it again while the run is open changes nothing.

        `config` is made JSON-safe (`values.config_value`): callables and classes become their names."""
        with self._lock:
            if self.active:
                assert self.run is not None
                return self.run.id
            tracker = self.tracker
            resume = resume_id or self._resume_id or (self.run.id if self.run is not None else None)
            if resume:
                self.run = tracker.resume_run(resume, console=self._console)
            else:
                fields = {key: value for key, value in self._fields.items() if value is not None}
                fields["config"] = config_value({**dict(config or {}), **dict(fields.get("config") or {})})
                fields["model"] = {**dict(model or {}), **dict(fields.get("model") or {})}
                fields["dataset"] = {**dict(dataset or {}), **dict(fields.get("dataset") or {})}
                if objective is not None:
                    fields.setdefault("objective", dict(objective))
                self.run = tracker.start_run(fields.pop("experiment_name", None), fields.pop("challenge", None),
                                             console=self._console, **fields)
            self.run.__enter__()
            self._signal = None
            self._install_hooks()
            self._epoch_started = time.monotonic()
            return self.run.id

    def epoch(self, epoch: int, values: Mapping[str, Any], *, skip: frozenset[str] = frozenset(),
              timing: Mapping[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """Log one epoch's values (storable ones; `skip` names keys to leave out), how long it took, and any
        extra epoch fields; returns the timing logged (to log the same epoch again with more values)."""
        if not self.active:
            return {}
        assert self.run is not None
        self._lost_sigterm()
        now = time.monotonic()
        spent = {"duration_seconds": now - self._epoch_started} if self._epoch_started is not None else {}
        self._epoch_started = now
        logged = {**spent, **dict(timing or {})}
        self.run.log_epoch(int(epoch), metric_values(values, skip), logged, **fields)
        return logged

    def epoch_began(self) -> None:
        """Start the clock of the next epoch's duration (when the framework tells when an epoch begins)."""
        self._epoch_started = time.monotonic()

    def merge(self, **sections: Mapping[str, Any]) -> None:
        """Merge values learnt during training into the experiment's `metrics`, `model`, `dataset` or `config`,
        key by key (a train summary at the end; an evaluation set's size, known once it is first used). A key
        the user gave in that section keeps the user's value."""
        if not self.active:
            return
        assert self.run is not None
        merged: dict[str, dict[str, Any]] = {}
        for section, values in sections.items():
            if section not in MERGEABLE:
                raise InvalidArgument(f"merge takes {', '.join(MERGEABLE)}, got {section!r}")
            given = self._fields.get(section) or {}
            stored = {safe_key(key): metric_value(value) if section == "metrics" else config_value(value)
                      for key, value in values.items()}
            merged[section] = {key: value for key, value in stored.items() if key not in given and value is not None}
        self.tracker.merge_experiment(self.run.id, **merged)

    def step(self, step: int, values: Mapping[str, Any]) -> None:
        """Buffer step-level values as step series."""
        if not self.active:
            return
        assert self.run is not None
        self._lost_sigterm()
        points = step_values(values)
        if points:
            self.run.log_metrics(points, int(step))

    def checkpoint(self, path: str | os.PathLike[str], epoch: int, *, is_best: bool | None = None,
                   metrics: Mapping[str, Any] | None = None, **fields: Any) -> str | None:
        """Register a checkpoint the framework saved (a file or a directory; size and sha256 are taken).

        Without `is_best`, a checkpoint is the best when its epoch is the objective's best epoch so far. With
        an artifact store configured (`Tracker(artifacts=...)`, `$EPOCHLOG_ARTIFACTS`), the file is copied in.
        """
        if not self.active:
            return None
        assert self.run is not None
        if is_best is None:
            is_best = self.tracker.progress(self.run.id).best_epoch == epoch
        store_file = self.tracker.copies is not None and os.path.exists(path)
        return self.run.save_checkpoint(int(epoch), metric_values(metrics or {}), {"path": os.fspath(path)},
                                        is_best=bool(is_best), store_file=store_file, **fields)

    def end(self, error: BaseException | None = None, *, trace: TracebackType | None = None) -> None:
        """End the run: completed, failed with `error`, or stopped (Ctrl-C or SIGTERM during training, even
        when the framework swallowed it); a tracker this recorder opened is closed."""
        with self._lock:
            if not self.active:
                return
            assert self.run is not None
            self._remove_hooks()
            if error is None and self._signal is not None:
                error = KeyboardInterrupt() if self._signal == signal.SIGINT else Terminated(self._signal)
            self.run.__exit__(type(error) if error is not None else None, error,
                              trace or (error.__traceback__ if error is not None else None))
            if self._owns_tracker and self._tracker is not None:
                self._tracker.close()
                self._tracker = None

    # -- hooks: Ctrl-C, SIGTERM, uncaught exceptions, exit -----------------------------------------

    def _install_hooks(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):  # after the run handle's, which raises Terminated
                self._previous_handlers[signum] = signal.signal(signum, self._on_signal)
        self._previous_excepthook = sys.excepthook
        sys.excepthook = self._on_uncaught
        self._shell = _ipython_shell()
        if self._shell is not None:  # a notebook's cell that raises calls no sys.excepthook
            self._shell.events.register("post_run_cell", self._after_cell)
        atexit.register(self._at_exit)

    def _remove_hooks(self) -> None:
        for signum, previous in self._previous_handlers.items():
            if signal.getsignal(signum) == self._on_signal:
                signal.signal(signum, previous)
        self._previous_handlers.clear()
        if self._previous_excepthook is not None:
            if sys.excepthook == self._on_uncaught:
                sys.excepthook = self._previous_excepthook
            self._previous_excepthook = None
        if self._shell is not None:
            if self._after_cell in self._shell.events.callbacks["post_run_cell"]:
                self._shell.events.unregister("post_run_cell", self._after_cell)
            self._shell = None
        atexit.unregister(self._at_exit)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signal = signum
        previous = self._previous_handlers.get(signum)
        if callable(previous):
            previous(signum, frame)
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt
        else:
            raise Terminated(signum)

    def _lost_sigterm(self) -> None:
        """Training goes on after SIGTERM only when its exception was lost (as `Run.raise_if_terminated` says):
        raised again here, at the framework's next event, whether or not it logs anything. The recorder's own
        record of the signal decides, set by its handler first whichever handlers were installed before it."""
        if self._signal == signal.SIGTERM:
            raise Terminated(signal.SIGTERM)

    def _on_uncaught(self, kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        previous = self._previous_excepthook or sys.__excepthook__
        self.end(error, trace=trace)
        previous(kind, error, trace)

    def _after_cell(self, result: Any) -> None:
        error = getattr(result, "error_in_exec", None)
        if error is not None and self.active:
            self.end(error, trace=error.__traceback__)

    def _at_exit(self) -> None:
        if self.active:
            self.end(None if self._signal is not None else
                     RuntimeError("the process exited before training ended"))


@dataclass(frozen=True)
class RecorderOptions:
    """What the user gave an integration that begins a new recorder at each training (Keras' `fit`, the
    Trainer's `train`): the store and the experiment's fields."""

    tracker: Tracker | None
    uri: str | os.PathLike[str] | None
    experiment_name: str | None
    challenge: int | None
    tags: list[str] | None
    fields: dict[str, Any]

    @classmethod
    def given(cls, *, tracker: Tracker | None, uri: str | os.PathLike[str] | None, experiment_name: str | None,
              challenge: int | None, tags: Iterable[str] | None, objective: Mapping[str, Any] | None,
              fields: Mapping[str, Any]) -> RecorderOptions:
        if tracker is not None and uri is not None:
            raise InvalidArgument("give tracker= or uri=, not both")
        return cls(tracker, uri, experiment_name, challenge, list(tags) if tags is not None else None,
                   {"objective": objective, **fields})

    def recorder(self, experiment_id: str | None, default_name: str | None) -> TrainingRecorder:
        """A recorder of these options: continuing `experiment_id`, or named `default_name` unless the user
        named the experiment."""
        fields = {key: value for key, value in self.fields.items() if value is not None}
        return TrainingRecorder(tracker=self.tracker, uri=self.uri, experiment_id=experiment_id,
                                experiment_name=self.experiment_name or default_name, challenge=self.challenge,
                                tags=self.tags, **fields)


def _ipython_shell() -> Any:
    """The IPython shell (a notebook's kernel) this code runs in, if any; IPython is never imported here."""
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


__all__ = ["RecorderOptions", "TrainingRecorder"]
