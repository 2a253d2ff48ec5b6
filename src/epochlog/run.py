"""The run handle: `with tracker.start_run(...) as run:` logs to one experiment and records how it ended.

While the block runs, a heartbeat thread refreshes the experiment's `heartbeat` every
`tracker.heartbeat_interval` seconds, so a run whose process died is seen as stale. In the main thread,
SIGTERM is turned into `Terminated` (after calling any handler installed before ours), so a run killed
politely ends as `stopped`, like one interrupted with Ctrl-C.
"""

from __future__ import annotations

import logging
import signal
import threading
import traceback
from collections.abc import Mapping, Sequence
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import EpochlogError

if TYPE_CHECKING:
    from .store.base import MetricSeries
    from .tracker import Tracker

TRACEBACK_FRAMES = 10  # how many of the innermost frames a failed run keeps
log = logging.getLogger("epochlog.run")


class Terminated(SystemExit):
    """Raised in the main thread when the process receives SIGTERM during a run."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


class Run:
    """One experiment being logged. On leaving the `with` block its status becomes completed, failed
    (with the exception's type, message and last frames) or stopped (Ctrl-C, SIGTERM)."""

    def __init__(self, tracker: Tracker, experiment_id: str) -> None:
        self.tracker = tracker
        self.id = experiment_id
        self.finished = False
        self._stop_beating = threading.Event()
        self._beater: threading.Thread | None = None
        self._previous_handler: Any = None

    def log_epoch(self, epoch: int, metrics: Mapping[str, Any] | None = None,
                  timing: Mapping[str, Any] | None = None, **fields: Any) -> None:
        """Record an epoch (see `Tracker.log_epoch`)."""
        self.tracker.log_epoch(self.id, epoch, metrics, timing, **fields)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Record step-level values (see `Tracker.log_metrics`)."""
        self.tracker.log_metrics(self.id, metrics, step)

    def log_metric_series(self, name: str, steps: Sequence[int] | np.ndarray,
                          values: Sequence[float] | np.ndarray) -> None:
        """Record many points of one metric (see `Tracker.log_metric_series`)."""
        self.tracker.log_metric_series(self.id, name, steps, values)

    def save_checkpoint(self, epoch: int, metrics: Mapping[str, Any] | None = None,
                        file: Mapping[str, Any] | None = None, is_best: bool = False, **fields: Any) -> str:
        """Register a checkpoint (see `Tracker.save_checkpoint_info`)."""
        return self.tracker.save_checkpoint_info(self.id, epoch, metrics, file, is_best, **fields)

    def get_metric_series(self, name: str) -> MetricSeries:
        """The points logged so far for one step series."""
        return self.tracker.get_metric_series(self.id, name)

    def finish(self, status: str = "completed", **fields: Any) -> None:
        """End the run now with `status` and any summary fields (`metrics=` merges)."""
        self._stop_beating.set()
        self.tracker.update_experiment_status(self.id, status, **fields)
        self.finished = True

    def __enter__(self) -> Run:
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
        previous = self._previous_handler
        if callable(previous):
            previous(signum, frame)  # a handler installed before ours runs first, as it expects
        raise Terminated(signum)

    def _beat(self) -> None:
        while not self._stop_beating.wait(self.tracker.heartbeat_interval):
            try:
                self.tracker.beat(self.id)
            except EpochlogError as error:  # a missed beat must not kill the run; the next one retries
                log.warning("heartbeat of run %s failed: %s", self.id, error)


def _describe(error: BaseException, trace: TracebackType | None) -> dict[str, Any]:
    frames = traceback.extract_tb(trace)[-TRACEBACK_FRAMES:]
    message = str(error) if not isinstance(error, Terminated) else f"terminated by signal {error.signum}"
    return {"type": type(error).__qualname__, "message": message,
            "traceback": "".join(traceback.format_list(frames))}
