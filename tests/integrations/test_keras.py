"""The Keras 3 callback, on real fits of a tiny network on the torch backend (tests/integrations/conftest.py).

The main fit runs on every backend; the resume tests on the embedded store and MongoDB behind the journal;
the other in-process tests on the embedded store. Each child process spends seconds of CPU importing torch and
keras (torch._dynamo above all), so there are three: an uncaught failure (MongoDB behind the journal) then a
`BackupAndRestore` resume, SIGTERM (embedded store) then a resume from `ModelCheckpoint`'s last file, and SIGKILL
(embedded store); Ctrl-C, which Keras lets through `fit`, is pressed in the test's own process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from epochlog import Tracker
from epochlog.integrations.keras import SIDECAR, EpochlogCallback

from . import children
from .children import wait
from .stored import epochs_of, history

SAMPLES, FEATURES, BATCH = 80, 6, 16  # validation_split=0.2: 64 train (4 batches), 16 valid

pytestmark = [
    # Keras' torch variables implement __array__ without numpy 2's `copy` (optimizer.get_config, model.save)
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"),
]


class Flaky(keras.layers.Layer):
    """The identity; sleeps `delay` seconds in each training call, raises RuntimeError after `fail_after`."""

    def __init__(self, delay: float = 0.0, fail_after: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delay, self.fail_after, self.calls = delay, fail_after, 0

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if training:
            self.calls += 1
            if self.fail_after is not None and self.calls > self.fail_after:
                raise RuntimeError("bad batch")
            if self.delay:
                time.sleep(self.delay)
        return inputs


def network(delay: float = 0.0, fail_after: int | None = None) -> keras.Model:
    keras.utils.set_random_seed(0)
    layers = [keras.Input((FEATURES,)), keras.layers.Dense(8, activation="relu"),
              keras.layers.Dense(2, activation="softmax")]
    if delay or fail_after is not None:
        layers.insert(1, Flaky(delay, fail_after))
    model = keras.Sequential(layers, name="mlp")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((SAMPLES, FEATURES)).astype(np.float32)
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)


def fit(model: keras.Model, callbacks: list[Any], epochs: int = 2, **options: Any) -> keras.callbacks.History:
    settings: dict[str, Any] = {"batch_size": BATCH, "validation_split": 0.2, "verbose": 0, **options}
    return model.fit(*data(), epochs=epochs, callbacks=callbacks, **settings)


def first_best(values: list[float], mode: str) -> int:
    return int(np.argmin(values) if mode == "min" else np.argmax(values))


def both(fixture: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(fixture, ["sqlite", "mongo-journal"], indirect=True)


# -- a fit, on every backend ----------------------------------------------------------------------------

def test_a_fit_records_config_model_epochs_batches_checkpoints_and_the_end(tracker: Tracker, tmp_path: Path) -> None:
    callback = EpochlogCallback(tracker=tracker, challenge=1, tags=["keras"], subject="s01")
    batches: list[float] = []
    # a best-only checkpoint listed before ours, one of every epoch and a ReduceLROnPlateau (which adds
    # `learning_rate` to the logs) after it: all of them reach the record
    best = keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="val_accuracy", save_best_only=True)
    every = keras.callbacks.ModelCheckpoint(str(tmp_path / "ckpt" / "epoch_{epoch:02d}.keras"))
    model = network()
    seen = fit(model, [best, callback, every, keras.callbacks.ReduceLROnPlateau(patience=100),
                       keras.callbacks.LambdaCallback(on_train_batch_end=lambda _, logs: batches.append(logs["loss"]))],
               epochs=4)

    found = history(tracker, callback.experiment_id)
    experiment = found["experiment"]
    assert experiment["status"] == "completed" and experiment["end_time"] is not None
    assert (experiment["experiment_name"], experiment["challenge"], experiment["tags"], experiment["subject"]) \
        == ("mlp", 1, ["keras"], "s01")
    config = experiment["config"]
    assert (config["optimizer"], config["learning_rate"], config["beta_1"]) == ("Adam", pytest.approx(0.01), 0.9)
    assert (config["loss"], config["metrics"]) == ("sparse_categorical_crossentropy", ["accuracy"])
    assert (config["epochs"], config["steps_per_epoch"], config["batch_size"], config["validation_split"]) \
        == (4, 4, BATCH, 0.2)
    assert "name" not in config and not any("tracker" in key or "epochlog" in key.lower() for key in config)
    parameters = model.count_params()
    assert experiment["model"] == {"name": "Sequential", "keras_name": "mlp", "parameters": parameters,
                                   "trainable_parameters": parameters}
    assert experiment["dataset"] == {"train_samples": 64, "valid_samples": 16, "train_steps": 4}
    assert experiment["objective"] == {"metric": "val_accuracy", "mode": "max"}  # the best-only checkpoint's

    # Keras' own epoch numbers, as History and CSVLogger keep them
    assert epochs_of(found) == seen.epoch == [0, 1, 2, 3]
    for index, epoch in enumerate(found["epochs"]):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
            assert epoch["metrics"][key] == pytest.approx(seen.history[key][index])
        assert epoch["timing"]["duration_seconds"] > 0
    accuracies = seen.history["val_accuracy"]
    top = first_best(accuracies, "max")
    assert experiment["metrics"] == {"best_val_accuracy": pytest.approx(max(accuracies)), "best_epoch": top,
                                     "last_epoch": 3}

    # every batch's logs as step series at the global step
    series = tracker.get_metric_series(callback.experiment_id, "loss")
    assert series.steps.tolist() == list(range(1, 17)) and series.values.tolist() == pytest.approx(batches)
    assert "accuracy" in tracker.get_metric_names(callback.experiment_id)

    # both checkpoints' files, by the epoch they were saved at; one is the best
    checkpoints = found["checkpoints"]
    improved = [e for e in range(4) if e == 0 or accuracies[e] > max(accuracies[:e])]
    assert [c["epoch"] for c in checkpoints if c["file"]["path"] == str(tmp_path / "best.keras")] == improved
    assert [(c["epoch"], c["file"]["path"]) for c in checkpoints if "ckpt" in c["file"]["path"]] == \
        [(e, str(tmp_path / "ckpt" / f"epoch_{e + 1:02d}.keras")) for e in range(4)]
    for checkpoint in checkpoints:
        assert checkpoint["file"]["checksum"].startswith("sha256:") and checkpoint["callback"] == "ModelCheckpoint"
        assert checkpoint["metrics"]["val_accuracy"] == pytest.approx(accuracies[checkpoint["epoch"]])
    assert [(c["epoch"], "ckpt" in c["file"]["path"]) for c in checkpoints if c["is_best"]] == [(top, True)]
    states = [(c["path"], c["state"]) for c in tracker.verify_checkpoints(callback.experiment_id)]
    assert all(state == "ok" for path, state in states if "ckpt" in path)
    # best.keras was overwritten at each improvement: its last registration verifies, the earlier ones differ
    assert [state for path, state in states if "ckpt" not in path] == ["changed"] * (len(improved) - 1) + ["ok"]
    assert json.loads((tmp_path / "ckpt" / SIDECAR).read_text()) == {"experiment_id": callback.experiment_id}


def test_checkpoints_saved_every_n_batches_are_registered_with_their_batch(tracker: Tracker, tmp_path: Path) -> None:
    callback = EpochlogCallback(tracker=tracker, objective={"metric": "loss", "mode": "min"})
    losses: list[float] = []
    # every 3 batches, listed before ours; the best on the batch loss every 5 batches, listed after it (Keras
    # sets a best-only checkpoint's comparison up at the first epoch's end: one saving sooner raises)
    every = keras.callbacks.ModelCheckpoint(str(tmp_path / "b_{epoch}_{batch}.keras"), save_freq=3)
    best = keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="loss", save_best_only=True,
                                           save_freq=5)
    fit(network(), [every, callback, best,
                    keras.callbacks.LambdaCallback(on_train_batch_end=lambda _, logs: losses.append(logs["loss"]))],
        epochs=3)

    found = history(tracker, callback.experiment_id)
    assert epochs_of(found) == [0, 1, 2] and found["experiment"]["status"] == "completed"
    checkpoints = found["checkpoints"]
    for checkpoint in checkpoints:  # 4 batches an epoch: step = epoch * 4 + batch
        assert checkpoint["file"]["checksum"].startswith("sha256:") and checkpoint["callback"] == "ModelCheckpoint"
        assert checkpoint["step"] == checkpoint["epoch"] * 4 + checkpoint["batch"]
        assert checkpoint["metrics"]["loss"] == pytest.approx(losses[checkpoint["step"] - 1])
    periodic = [(c["epoch"], c["batch"], c["file"]["path"], c["is_best"]) for c in checkpoints
                if "best" not in c["file"]["path"]]
    assert periodic == [(e, b, str(tmp_path / f"b_{e + 1}_{b}.keras"), False)
                        for e, b in [(0, 3), (1, 2), (2, 1), (2, 4)]]
    improved = [step for step in range(5, 13, 5)
                if all(losses[step - 1] < losses[other - 1] for other in range(5, step, 5))]
    assert improved
    assert [c["step"] for c in checkpoints if "best" in c["file"]["path"]] == improved
    assert [c["step"] for c in checkpoints if c["is_best"]] == [improved[-1]]  # the store keeps one best
    states = [(c["path"], c["state"]) for c in tracker.verify_checkpoints(callback.experiment_id)]
    assert all(state == "ok" for path, state in states if "best" not in path)


# -- the objective ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("callbacks", "given", "validation", "objective"), [
    ([keras.callbacks.ModelCheckpoint("best.weights.h5", save_weights_only=True, save_best_only=True,
                                      monitor="accuracy")], None, True, {"metric": "accuracy", "mode": "max"}),
    ([keras.callbacks.EarlyStopping(monitor="loss", patience=50)], None, True, {"metric": "loss", "mode": "min"}),
    ([keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="min", patience=50)], None, True,
     {"metric": "val_accuracy", "mode": "min"}),
    ([keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=50)], {"metric": "val_loss", "mode": "min"},
     True, {"metric": "val_loss", "mode": "min"}),
    ([keras.callbacks.ModelCheckpoint("every.weights.h5", save_weights_only=True, monitor="val_accuracy")], None,
     True, {"metric": "val_loss", "mode": "min"}),
    ([], None, False, {"metric": "loss", "mode": "min"}),
], ids=["best-checkpoint", "early-stopping", "early-stopping-mode", "given", "plain-checkpoint", "no-validation"])
def test_the_objective_is_the_metric_a_checkpoint_or_early_stopping_watches(
        sqlite_tracker: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, callbacks: list[Any],
        given: dict[str, str] | None, validation: bool, objective: dict[str, str]) -> None:
    monkeypatch.chdir(tmp_path)
    callback = EpochlogCallback(tracker=sqlite_tracker, objective=given)
    seen = fit(network(), [callback, *callbacks], validation_split=0.2 if validation else 0.0)
    experiment = history(sqlite_tracker, callback.experiment_id)["experiment"]
    assert experiment["objective"] == objective
    values = seen.history[objective["metric"]]
    best = first_best(values, objective["mode"])
    assert experiment["metrics"][f"best_{objective['metric']}"] == pytest.approx(values[best])
    assert experiment["metrics"]["best_epoch"] == best


def test_early_stopping_ends_the_run_completed_with_its_last_epoch(sqlite_tracker: Tracker) -> None:
    callback = EpochlogCallback(tracker=sqlite_tracker)
    stopper = keras.callbacks.EarlyStopping(monitor="loss", min_delta=10.0, patience=0)
    seen = fit(network(), [stopper, callback], epochs=10)
    found = history(sqlite_tracker, callback.experiment_id)
    assert seen.epoch == epochs_of(found) == [0, 1]
    assert found["experiment"]["status"] == "completed" and "error" not in found["experiment"]
    assert found["experiment"]["metrics"]["last_epoch"] == 1


# -- failing and resuming, in one process -----------------------------------------------------------------

def test_a_fit_that_raised_is_failed_when_the_next_fit_begins(sqlite_tracker: Tracker) -> None:
    callback = EpochlogCallback(tracker=sqlite_tracker)
    model = network(fail_after=6)  # the second epoch's second batch
    failed = None
    try:
        fit(model, [callback], epochs=3)
    except RuntimeError:
        failed = callback.experiment_id
        assert sqlite_tracker.get_experiment(failed)["status"] == "running"  # Keras tells callbacks nothing
        fit(network(), [callback])  # a fresh fit, inside the handler of the first one's error
    found = history(sqlite_tracker, failed)
    assert found["experiment"]["status"] == "failed"
    error = found["experiment"]["error"]
    assert error["type"] == "RuntimeError" and "bad batch" in error["message"]  # Keras adds the layer's call
    assert epochs_of(found) == [0]
    assert callback.experiment_id != failed
    assert sqlite_tracker.get_experiment(callback.experiment_id)["status"] == "completed"


def test_ctrl_c_stops_the_experiment_and_leaves_ctrl_c_as_it_was(sqlite_tracker: Tracker) -> None:
    pressed: list[int] = []

    def press(batch: int, logs: Any) -> None:  # Ctrl-C in the second epoch
        pressed.append(batch)
        if len(pressed) == 6:
            os.kill(os.getpid(), signal.SIGINT)

    callback = EpochlogCallback(tracker=sqlite_tracker)
    with pytest.raises(KeyboardInterrupt):  # Keras lets it through, as a notebook shows it
        fit(network(), [callback, keras.callbacks.LambdaCallback(on_train_batch_end=press)], epochs=5)
    stopped = callback.experiment_id
    fit(network(), [callback])  # the next cell
    found = history(sqlite_tracker, stopped)
    assert found["experiment"]["status"] == "stopped" and epochs_of(found) == [0]
    assert found["experiment"]["error"]["type"] == "KeyboardInterrupt"
    assert sqlite_tracker.get_experiment(callback.experiment_id)["status"] == "completed"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@both("store")
def test_fit_again_from_initial_epoch_continues_the_experiment(tracker: Tracker) -> None:
    callback = EpochlogCallback(tracker=tracker)
    model = network()
    fit(model, [callback], epochs=3)
    first = callback.experiment_id
    fit(model, [callback], epochs=5, initial_epoch=3)
    assert callback.experiment_id == first and tracker.count_experiments() == 1
    found = history(tracker, first)
    assert epochs_of(found) == [0, 1, 2, 3, 4] and found["experiment"]["status"] == "completed"
    assert found["experiment"]["metrics"]["last_epoch"] == 4
    assert tracker.get_metric_series(first, "loss").steps.tolist() == list(range(1, 5 * 4 + 1))

    fit(model, [callback], epochs=2)  # from epoch 0: a new training, a new experiment
    assert callback.experiment_id != first and tracker.count_experiments() == 2
    assert epochs_of(history(tracker, callback.experiment_id)) == [0, 1]


@both("store")
def test_a_model_loaded_from_its_checkpoint_continues_the_experiment(tracker: Tracker, tmp_path: Path) -> None:
    pattern = str(tmp_path / "ckpt" / "epoch_{epoch:02d}.keras")
    first = EpochlogCallback(tracker=tracker, challenge=2)
    fit(network(), [first, keras.callbacks.ModelCheckpoint(pattern)], epochs=3)

    # a new process would load the last checkpoint and fit on from its epoch, with a new callback
    model = keras.models.load_model(tmp_path / "ckpt" / "epoch_03.keras")
    callback = EpochlogCallback(tracker=tracker)
    fit(model, [callback, keras.callbacks.ModelCheckpoint(pattern)], epochs=5, initial_epoch=3)

    assert callback.experiment_id == first.experiment_id and tracker.count_experiments() == 1
    found = history(tracker, callback.experiment_id)
    assert epochs_of(found) == [0, 1, 2, 3, 4] and found["experiment"]["status"] == "completed"
    assert found["experiment"]["challenge"] == 2
    assert [c["epoch"] for c in found["checkpoints"]] == [0, 1, 2, 3, 4]
    assert sum(c["is_best"] for c in found["checkpoints"]) == 1


def test_experiment_id_continues_a_named_experiment(sqlite_tracker: Tracker) -> None:
    first = EpochlogCallback(tracker=sqlite_tracker)
    model = network()
    fit(model, [first], epochs=2)
    again = EpochlogCallback(tracker=sqlite_tracker, experiment_id=first.experiment_id)
    fit(model, [again], epochs=3, initial_epoch=2)
    assert again.experiment_id == first.experiment_id and sqlite_tracker.count_experiments() == 1
    assert epochs_of(history(sqlite_tracker, first.experiment_id)) == [0, 1, 2]


# -- child processes: uncaught errors and signals, which only a real process shows --------------------------

CHILD = textwrap.dedent("""
    import os, sys
    import keras
    from tests.integrations.test_keras import EpochlogCallback, fit, network
    uri, out, mode = sys.argv[1:4]
    model = network(fail_after=6) if mode == "fail" else network(delay=0.1)
    fit(model, [EpochlogCallback(uri=uri, experiment_name="child", challenge=1),
                keras.callbacks.ModelCheckpoint(os.path.join(out, "ckpt", "epoch_{epoch:03d}.weights.h5"),
                                                save_weights_only=True),
                keras.callbacks.BackupAndRestore(os.path.join(out, "backup"))], epochs=200)
""")


def start_child(uri: str, tmp_path: Path, mode: str) -> subprocess.Popen[bytes]:
    return children.start_child(CHILD, tmp_path, uri, str(tmp_path), mode)


def child_experiment(tracker: Tracker, child: subprocess.Popen[bytes], tmp_path: Path, epochs: int = 2) -> str:
    return children.child_experiment(tracker, child, tmp_path, epochs=epochs)


@pytest.mark.parametrize("backend_uri", ["mongo-journal"], indirect=True)
def test_an_uncaught_failure_fails_the_experiment_and_backup_and_restore_resumes_it(backend_uri: str,
                                                                                   tmp_path: Path) -> None:
    child = start_child(backend_uri, tmp_path, "fail")
    assert wait(child, tmp_path) == 1
    with Tracker(backend_uri) as tracker:
        assert tracker.sync()
        [run] = tracker.search_experiments({"experiment_name": "child"})
        assert run["status"] == "failed", (tmp_path / "child.log").read_text()
        assert run["error"]["type"] == "RuntimeError" and "bad batch" in run["error"]["message"]
        assert "call" in run["error"]["traceback"]
        assert epochs_of(tracker.get_experiment_history(run["_id"])) == [0]

        # the job restarts: BackupAndRestore restores the end of epoch 0, and the experiment goes on
        callback = EpochlogCallback(tracker=tracker)
        seen = fit(network(), [callback, keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))], epochs=3)
        assert seen.epoch == [1, 2] and callback.experiment_id == str(run["_id"])
        found = history(tracker, run["_id"])
        assert epochs_of(found) == [0, 1, 2] and found["experiment"]["status"] == "completed"
        assert tracker.count_experiments() == 1 and not (tmp_path / "backup").exists()  # Keras deletes it


@pytest.mark.parametrize("backend_uri", ["sqlite"], indirect=True)
def test_sigterm_stops_the_experiment_and_its_last_checkpoint_resumes_it(backend_uri: str, tmp_path: Path) -> None:
    child = start_child(backend_uri, tmp_path, "slow")
    with Tracker(backend_uri) as tracker:
        experiment_id = child_experiment(tracker, child, tmp_path)
        child.send_signal(signal.SIGTERM)
        assert wait(child, tmp_path) == 128 + signal.SIGTERM
        run = tracker.get_experiment(experiment_id)
        assert run["status"] == "stopped" and run["error"]["type"] == "Terminated", (tmp_path / "child.log").read_text()

        # the job restarts from the last checkpoint registered that verifies (SIGTERM may have cut the file
        # being written short): the epoch after it is where training goes on
        last = [check for check in tracker.verify_checkpoints(experiment_id) if check["state"] == "ok"][-1]
        done = last["epoch"] + 1
        assert Path(last["path"]).name == f"epoch_{done:03d}.weights.h5"  # its file name counts epochs from 1
        model = network()
        model.optimizer.build(model.trainable_variables)  # the weights file holds the optimizer's state too
        model.load_weights(last["path"])
        callback = EpochlogCallback(tracker=tracker)
        pattern = str(tmp_path / "ckpt" / "epoch_{epoch:03d}.weights.h5")
        fit(model, [callback, keras.callbacks.ModelCheckpoint(pattern, save_weights_only=True)],
            epochs=done + 2, initial_epoch=done)
        assert callback.experiment_id == experiment_id and tracker.count_experiments() == 1
        found = tracker.get_experiment_history(experiment_id)
        assert epochs_of(found) == list(range(done + 2)) and found["experiment"]["status"] == "completed"
        assert [c["epoch"] for c in found["checkpoints"]][-2:] == [done, done + 1]


@pytest.mark.parametrize("backend_uri", ["sqlite"], indirect=True)
def test_sigkill_keeps_the_best_epoch(backend_uri: str, tmp_path: Path) -> None:
    child = start_child(backend_uri, tmp_path, "slow")
    with Tracker(backend_uri) as tracker:
        experiment_id, found = children.sigkilled_keeps_its_best(tracker, child, tmp_path, "val_loss")
        assert max(epoch["epoch"] for epoch in found["epochs"]) >= 2
