"""In a notebook (a real IPython shell), a training cell that raises ends its run at once, as failed or stopped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from epochlog import Tracker

from .test_skorch import data, net, pytestmark  # noqa: F401  (the same warning filters)


@pytest.fixture
def shell() -> Iterator[Any]:
    shell = InteractiveShell.instance()
    yield shell
    InteractiveShell.clear_instance()


def test_a_cell_that_raises_out_of_a_fit_ends_the_run_as_failed(shell: Any, tmp_path: Any) -> None:
    from skorch.callbacks import Callback

    from epochlog.integrations.skorch import EpochlogCallback

    class Raise(Callback):  # stands for the user's code failing at the start of the second epoch
        def on_epoch_begin(self, net: Any, **kwargs: Any) -> None:
            if len(net.history) == 2:
                raise RuntimeError("bad batch")

    tracker = Tracker(f"sqlite:///{tmp_path / 'e.db'}")
    callback = EpochlogCallback(tracker=tracker, experiment_name="cell")
    shell.push({"model": net([callback, Raise()]), "X": data()[0], "y": data()[1]})
    result = shell.run_cell("model.fit(X, y)")  # not silent: a silent cell triggers no events
    assert result.error_in_exec is not None
    [document] = tracker.search_experiments({"experiment_name": "cell"})
    assert document["status"] == "failed", "the run must not stay open until the next fit"
    assert document.get("end_time") is not None and "bad batch" in str(document["error"])
    assert shell.events.callbacks["post_run_cell"].count(callback.recorder_._after_cell) == 0
    tracker.close()


def test_a_cell_interrupted_during_training_ends_the_run_as_stopped(shell: Any, tmp_path: Any) -> None:
    """A framework that lets KeyboardInterrupt through (the Trainer's loop does): the cell ends with it."""
    from epochlog.integrations.recorder import TrainingRecorder

    tracker = Tracker(f"sqlite:///{tmp_path / 'e.db'}")
    recorder = TrainingRecorder(tracker=tracker, experiment_name="interrupted")
    shell.push({"recorder": recorder})
    result = shell.run_cell("recorder.start()\nrecorder.epoch(1, {'val_loss': 0.5})\nraise KeyboardInterrupt")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    [document] = tracker.search_experiments({"experiment_name": "interrupted"})
    assert document["status"] == "stopped" and document["metrics"]["best_val_loss"] == 0.5
    result = shell.run_cell("1 / 0")  # a later cell's error belongs to no run
    assert tracker.get_experiment(document["_id"])["status"] == "stopped"
    tracker.close()
