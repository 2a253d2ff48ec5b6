"""An experiment's objective and the progress `log_epoch` keeps on it: best value, best epoch, last epoch.

The experiment document carries `objective: {"metric": ..., "mode": "min"|"max"}`, and `log_epoch` keeps
`metrics.best_<metric>`, `metrics.best_epoch` and `metrics.last_epoch` on it, in the same batch as the epoch.
Updating the experiment costs a `log_epoch` as much again as the epoch itself, so the update goes with an epoch
only once the previous one is `LAST_EPOCH_INTERVAL` (1 s) old: in training whose epochs take longer than
that, every epoch that changes them; in a faster loop, at most once a second, with the heartbeat, and when the
run ends or the tracker flushes. A run killed inside that second has every epoch stored, and
`Tracker.mark_stale_failed` (or a resume) recomputes its best from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .documents import check_key
from .errors import InvalidArgument, InvalidDocument
from .finite_numbers import is_finite_number

LAST_EPOCH_INTERVAL = 1.0  # seconds between two updates of an experiment's best and last epoch
MODES = ("min", "max")


@dataclass(frozen=True)
class Objective:
    """The epoch metric a run is judged by, and whether lower or higher is better."""

    metric: str = "val_loss"
    mode: str = "min"

    @classmethod
    def of(cls, value: Mapping[str, Any] | None) -> Objective:
        """The objective a caller asked for (`{"metric": ..., "mode": ...}`), or the default; InvalidArgument
        naming what is wrong otherwise."""
        if value is None:
            return cls()
        if not isinstance(value, Mapping) or set(value) - {"metric", "mode"}:
            raise InvalidArgument(f"objective must be {{'metric': name, 'mode': 'min' or 'max'}}, got {value!r}")
        metric, mode = value.get("metric", cls.metric), value.get("mode", cls.mode)
        if not isinstance(metric, str) or not metric:
            raise InvalidArgument(f"objective metric must be a non-empty string, got {metric!r}")
        try:
            check_key(metric, "")
        except InvalidDocument as error:
            raise InvalidArgument(f"objective metric {metric!r} is no metric name: {error}") from None
        if mode not in MODES:
            raise InvalidArgument(f"objective mode must be 'min' or 'max', got {mode!r}")
        return cls(metric, mode)

    @classmethod
    def stored(cls, value: Any) -> Objective:
        """The objective of a stored experiment; the default for documents without a valid one (older clients)."""
        try:
            return cls.of(value if isinstance(value, Mapping) else None)
        except InvalidArgument:
            return cls()

    @property
    def best_key(self) -> str:
        """The experiment field holding the best value: `metrics.best_<metric>`."""
        return f"metrics.best_{self.metric}"

    def better(self, value: float, than: float) -> bool:
        return value < than if self.mode == "min" else value > than


class Progress:
    """An experiment's best and last epoch as logged, and what of them the stored document lacks."""

    def __init__(self, objective: Objective, best: Any = None, best_epoch: Any = None, last_epoch: Any = None,
                 *, now: float = 0.0, known: bool = True) -> None:
        self.objective = objective
        self.known = known  # False: the stored best could not be read (an outage); nothing is written over it
        finite = is_finite_number(best) and type(best_epoch) is int
        self.best: float | int | None = best if finite else None
        self.best_epoch: int | None = best_epoch if finite else None
        self.last_epoch: int | None = last_epoch if type(last_epoch) is int else None
        self._written = self._state()
        self._written_at = now

    @classmethod
    def resumed(cls, document: Mapping[str, Any], now: float = 0.0) -> Progress:
        """The progress of a stored experiment (created by another process, or resumed)."""
        objective = Objective.stored(document.get("objective"))
        metrics = document.get("metrics")
        if not isinstance(metrics, Mapping):
            metrics = {}
        return cls(objective, metrics.get(f"best_{objective.metric}"), metrics.get("best_epoch"),
                   metrics.get("last_epoch"), now=now)

    @classmethod
    def unknown(cls, now: float = 0.0) -> Progress:
        """The progress of an experiment whose document could not be read: followed here, never written, so
        that a best stored by an earlier process is not overwritten by a worse one."""
        return cls(Objective(), now=now, known=False)

    @property
    def pending(self) -> bool:
        """Whether the stored document is behind the epochs logged (best or last epoch)."""
        return self.known and self._state() != self._written

    def after_epoch(self, epoch: int, metrics: Mapping[str, Any], now: float) -> dict[str, Any]:
        """The experiment fields to `$set` with this epoch's write: what changed, once the last such write is
        `LAST_EPOCH_INTERVAL` old (so, in a training loop of epochs longer than that, every time)."""
        if self.last_epoch is None or epoch > self.last_epoch:
            self.last_epoch = epoch
        value: Any = metrics.get(self.objective.metric)
        if is_finite_number(value) and (self.best is None or epoch == self.best_epoch
                                        or self.objective.better(value, self.best)):
            # the best epoch logged again (a resumed run) replaces the best value, better or not
            self.best, self.best_epoch = value, epoch
        if now - self._written_at >= LAST_EPOCH_INTERVAL and self.pending:
            return self.take_pending(now)
        return {}

    def take_pending(self, now: float) -> dict[str, Any]:
        """The fields the stored document lacks, to be written now (by the caller)."""
        changes: dict[str, Any] = {}
        if self.best_epoch is not None and (self.best, self.best_epoch) != self._written[:2]:
            changes[self.objective.best_key] = self.best
            changes["metrics.best_epoch"] = self.best_epoch
        if self.last_epoch is not None and self.last_epoch != self._written[2]:
            changes["metrics.last_epoch"] = self.last_epoch
        self._written, self._written_at = self._state(), now
        return changes

    def _state(self) -> tuple[Any, int | None, int | None]:
        return self.best, self.best_epoch, self.last_epoch
