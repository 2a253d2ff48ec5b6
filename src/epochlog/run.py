"""The run handle: `with tracker.start_run(...) as run:` logs to one experiment and records how it ended.

While the block runs, a background thread refreshes the experiment's `heartbeat` every
`tracker.heartbeat_interval` seconds, so a run whose process died is seen as stale, and samples the system
metrics every `tracker.system_interval` seconds (`context.system_metrics`): step series `system/...`, written
a minute's worth at a time, with their peaks and means as the experiment's `system` at the end. With `console`,
what the process prints is teed (`epochlog.console`) and written by the same thread every second. In the main thread,
SIGTERM is turned into `Terminated` (after calling any handler installed before ours), so a run killed
politely ends as `stopped`, like one interrupted with Ctrl-C. Python drops that exception when the handler ran
inside a weakref callback or a `__del__` (it prints "Exception ignored in ..." and goes on): the run's next
`log_epoch`, `log_metrics`, `log_metric_series` or `save_checkpoint` raises it again (`raise_if_terminated`).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import signal
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
from bson import ObjectId

from .documents import as_utc, utcnow
from .errors import EpochlogError
from .schema import EXPERIMENTS

if TYPE_CHECKING:
    from .console import ConsoleRecorder
    from .console.tee import FdTee, StreamTee
    from .context.system_metrics import Sample, SystemSampler
    from .store.base import MetricSeries
    from .tracker import Tracker

TRACEBACK_FRAMES = 10  # how many of the innermost frames a failed run keeps
SAMPLES_PER_WRITE = 6  # system-metric samples held before they are written: a minute's at the default 10 s
CONSOLE_INTERVAL = 1.0  # seconds between writes of the captured console
JOIN_TIMEOUT = 5.0  # seconds `finish` waits for the background thread's last beat or write
log = logging.getLogger("epochlog.run")


class Terminated(SystemExit):
    """Raised in the main thread when the process receives SIGTERM during a run."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


class Run:
    """One experiment being logged. On leaving the `with` block its status becomes completed, failed
    (with the exception's type, message and last frames) or stopped (Ctrl-C, SIGTERM)."""

    def __init__(self, tracker: Tracker, experiment_id: str, *, system_metrics: bool = False,
                 resumed: bool = False, console: str | None = None) -> None:
        self.tracker = tracker
        self.id = experiment_id
        self.finished = False
        self._stop_beating = threading.Event()
        self._beater: threading.Thread | None = None
        self._previous_handler: Any = None
        self._terminated: int | None = None  # the signal number once SIGTERM was received in the block
        self._sampler: SystemSampler | None = None
        self._samples: list[Sample] = []
        self._samples_lock = threading.Lock()  # `finish` writes what a thread that outlived its join left
        self._sampling = system_metrics and tracker.system_interval > 0
        self._resumed = resumed
        self._console_mode = console  # "streams", "fds" or None (`epochlog.console.console_mode`)
        self._console: ConsoleRecorder | None = None
        self._tee: StreamTee | FdTee | None = None

    def log_epoch(self, epoch: int, metrics: Mapping[str, Any] | None = None,
                  timing: Mapping[str, Any] | None = None, **fields: Any) -> None:
        """Record an epoch (see `Tracker.log_epoch`)."""
        self.raise_if_terminated()
        self.tracker.log_epoch(self.id, epoch, metrics, timing, **fields)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Record step-level values (see `Tracker.log_metrics`)."""
        self.raise_if_terminated()
        self.tracker.log_metrics(self.id, metrics, step)

    def log_metric_series(self, name: str, steps: Sequence[int] | np.ndarray,
                          values: Sequence[float] | np.ndarray) -> None:
        """Record many points of one metric (see `Tracker.log_metric_series`)."""
        self.raise_if_terminated()
        self.tracker.log_metric_series(self.id, name, steps, values)

    def save_checkpoint(self, epoch: int, metrics: Mapping[str, Any] | None = None,
                        file: Mapping[str, Any] | None = None, is_best: bool = False, store_file: bool = False,
                        **fields: Any) -> str:
        """Register a checkpoint, and copy its file into the artifact store with `store_file` (see
        `Tracker.save_checkpoint_info`)."""
        self.raise_if_terminated()
        return self.tracker.save_checkpoint_info(self.id, epoch, metrics, file, is_best, store_file=store_file,
                                                 **fields)

    def raise_if_terminated(self) -> None:
        """Raise `Terminated` again if SIGTERM arrived while the run is open: the code goes on logging only when
        the exception was lost (raised while a weakref callback or a `__del__` ran, where Python prints and
        drops it), so it is raised at the next logging call instead."""
        if self._terminated is not None and not self.finished:
            raise Terminated(self._terminated)

    def get_metric_series(self, name: str) -> MetricSeries:
        """The points logged so far for one step series."""
        return self.tracker.get_metric_series(self.id, name)

    def finish(self, status: str = "completed", **fields: Any) -> None:
        """End the run now with `status` and any summary fields (`metrics=` merges); the system metrics'
        peaks and means become its `system` field, the console's line counts its `console` field."""
        self._stop_beating.set()
        if self._beater is not None and self._beater is not threading.current_thread():
            self._beater.join(JOIN_TIMEOUT)
        if self._console is not None:
            self._stop_console()
            fields.setdefault("console", self._console.summary())
        if self._sampler is not None:
            self._write_samples()
            summary = self._sampler.summary()
            self._sampler.close()
            if summary and "system" not in fields:
                fields["system"] = summary
        self.tracker.update_experiment_status(self.id, status, **fields)
        self.finished = True

    def __enter__(self) -> Run:
        if self._console_mode is not None and self._tee is None:
            from .console import ConsoleRecorder, start_tee

            self._console = ConsoleRecorder(ObjectId(self.id), self.tracker.store.write,
                                            limit=self.tracker.console_limit)
            self._tee = start_tee(self._console_mode, self._console.sink)
        self._beater = threading.Thread(target=self._beat, name=f"epochlog-heartbeat-{self.id}", daemon=True)
        self._beater.start()
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGTERM, self._on_sigterm)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop_beating.set()
        if self._previous_handler is not None:
            signal.signal(signal.SIGTERM, self._previous_handler)
            self._previous_handler = None
        if self.finished:
            return
        if error is None:
            self.finish("completed")
        elif isinstance(error, (KeyboardInterrupt, Terminated)):
            self.finish("stopped", error=_describe(error, trace))
        else:
            self.finish("failed", error=_describe(error, trace))

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self._terminated = signum
        previous = self._previous_handler
        if callable(previous):
            previous(signum, frame)  # a handler installed before ours runs first, as it expects
        raise Terminated(signum)

    def _beat(self) -> None:
        beat_every, sample_every = self.tracker.heartbeat_interval, self.tracker.system_interval
        started = time.monotonic()
        next_beat, next_sample = started + beat_every, math.inf
        next_flush = started + CONSOLE_INTERVAL if self._console is not None else math.inf
        if self._sampling:  # here, not in the training's thread: NVML and a resumed run's steps take a while
            self._sampler = self._start_sampler()
            next_sample = started + sample_every
        while not self._stop_beating.wait(max(min(next_beat, next_sample, next_flush) - time.monotonic(), 0)):
            now = time.monotonic()
            if now >= next_flush and self._console is not None:
                self._console.flush()
                next_flush = now + CONSOLE_INTERVAL
            if now >= next_sample and self._sampler is not None:
                sample = self._sampler.sample()
                with self._samples_lock:
                    self._samples.append(sample)
                next_sample = max(next_sample + sample_every, now)  # a late sample is not followed by a burst
                if len(self._samples) >= SAMPLES_PER_WRITE:
                    self._write_samples()
            if now >= next_beat:
                next_beat = now + beat_every
                try:
                    self.tracker.beat(self.id)
                except EpochlogError as error:  # a missed beat must not kill the run; the next one retries
                    log.warning("heartbeat of run %s failed: %s", self.id, error)

    def _stop_console(self) -> None:
        """The streams back as they were, and every captured line written (the unfinished ones too)."""
        assert self._console is not None
        if self._tee is not None:
            self._tee.stop()
            self._tee = None
        self._console.flush(final=True)

    def _start_sampler(self) -> SystemSampler:
        """A primed sampler; a resumed run's steps follow the system-metric steps it already has."""
        from .context.system_metrics import SystemSampler

        elapsed, last_step = 0.0, -1
        if self._resumed:
            try:
                elapsed, last_step = _resume_point(self.tracker, self.id)
            except EpochlogError as error:  # the store is away: steps from 0, which may repeat earlier ones
                log.warning("system metrics of resumed run %s start again at step 0: %s", self.id, error)
        sampler = SystemSampler(elapsed, last_step)
        sampler.prime()
        return sampler

    def _write_samples(self) -> None:
        """The samples held so far, as one bucket per metric; a failed write is logged, not raised."""
        with self._samples_lock:
            samples, self._samples = self._samples, []
        by_name: dict[str, tuple[list[int], list[float]]] = {}
        for sample in samples:
            for name, value in sample.values.items():
                steps, values = by_name.setdefault(name, ([], []))
                steps.append(sample.step)
                values.append(value)
        for name, (steps, values) in by_name.items():
            try:
                self.tracker.log_metric_series(self.id, name, steps, values)
            except EpochlogError as error:
                log.warning("system metric %s of run %s not written: %s", name, self.id, error)


def _resume_point(tracker: Tracker, experiment_id: str) -> tuple[float, int]:
    """(seconds since the experiment started, its last system-metric step), which a resumed run continues."""
    from .context.system_metrics import PREFIX

    eid = ObjectId(experiment_id)
    found = tracker.store.find(EXPERIMENTS, {"_id": eid}, projection={"start_time": 1})
    started = found[0].get("start_time") if found else None
    elapsed = 0.0
    if isinstance(started, dt.datetime):
        elapsed = max((utcnow() - as_utc(started)).total_seconds(), 0.0)
    last_step = -1
    for name in tracker.store.series_names(eid):
        if name.startswith(PREFIX):
            steps = tracker.get_metric_series(eid, name).steps
            last_step = max(last_step, int(steps[-1])) if len(steps) else last_step
    return elapsed, last_step


def _describe(error: BaseException, trace: TracebackType | None) -> dict[str, Any]:
    frames = traceback.extract_tb(trace)[-TRACEBACK_FRAMES:]
    message = str(error) if not isinstance(error, Terminated) else f"terminated by signal {error.signum}"
    return {"type": type(error).__qualname__, "message": message,
            "traceback": "".join(traceback.format_list(frames))}
