"""A SIGTERM whose exception Python dropped (raised while a weakref callback ran) still ends the training."""

from __future__ import annotations

import gc
import signal
import sys
import weakref
from pathlib import Path

import pytest

from epochlog import Tracker
from epochlog.integrations.recorder import TrainingRecorder
from epochlog.run import Terminated


class Thing:
    pass


def test_a_sigterm_lost_in_a_weakref_callback_is_raised_at_the_next_step(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    tracker = Tracker(tmp_path / "runs.db", system_interval=0)
    recorder = TrainingRecorder(tracker=tracker, console=False)
    recorder.start()
    thing = Thing()
    # the handler runs inside a weakref callback, as in the CI failure: Python prints its exception and drops it
    ref = weakref.ref(thing, lambda _: recorder._on_signal(signal.SIGTERM, None))
    dropped: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: dropped.append(unraisable.exc_value))
    del thing
    gc.collect()
    assert len(dropped) == 1 and isinstance(dropped[0], Terminated)
    assert ref() is None and recorder.interrupted and recorder.active  # the training would go on
    with pytest.raises(Terminated):
        recorder.step(1, {"loss": 0.5})
    recorder.end(Terminated(signal.SIGTERM))
    assert tracker.get_experiment(recorder.experiment_id)["status"] == "stopped"
    tracker.close()
