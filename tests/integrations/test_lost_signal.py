"""A SIGTERM whose exception Python dropped (raised while a weakref callback ran) still ends the training, in an
integration's recorder and in a plain `start_run` block alike."""

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


@pytest.mark.parametrize("call", ["log_epoch", "log_metrics", "log_metric_series", "save_checkpoint"])
def test_a_sigterm_lost_in_a_weakref_callback_is_raised_at_the_run_handles_next_logging_call(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str) -> None:
    tracker = Tracker(tmp_path / "runs.db", system_interval=0)
    calls = {"log_epoch": lambda run: run.log_epoch(1, {"loss": 0.5}),
             "log_metrics": lambda run: run.log_metrics({"loss": 0.5}, 1),
             "log_metric_series": lambda run: run.log_metric_series("loss", [1], [0.5]),
             "save_checkpoint": lambda run: run.save_checkpoint(1, {"loss": 0.5})}
    dropped: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: dropped.append(unraisable.exc_value))
    with pytest.raises(Terminated), tracker.start_run("lost", console=False) as run:
        run.log_epoch(0, {"loss": 1.0})
        thing = Thing()
        ref = weakref.ref(thing, lambda _: signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None))  # type: ignore
        del thing
        gc.collect()
        assert len(dropped) == 1 and isinstance(dropped[0], Terminated) and ref() is None  # the block goes on
        calls[call](run)
    experiment = tracker.get_experiment(run.id)
    assert experiment["status"] == "stopped" and experiment["error"]["type"] == "Terminated"
    assert [epoch["epoch"] for epoch in tracker.get_experiment_history(run.id)["epochs"]] == [0]
    assert signal.getsignal(signal.SIGTERM) is not run._on_sigterm
    tracker.close()
