"""The skorch / braindecode callback, on real fits of a tiny network (and one braindecode EEGNeX) on CPU.

The main fit runs on every backend; the resume tests on the embedded store and MongoDB behind the journal;
the other in-process tests on the embedded store. Each child process spends seconds of CPU importing torch,
so there are four: an uncaught failure (MongoDB behind the journal), Ctrl-C and SIGTERM (MongoDB, embedded
store), SIGKILL followed by a restarted job that resumes from skorch's checkpoint (embedded store).
"""

from __future__ import annotations

import pickle
import signal
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.base import clone
from skorch import NeuralNetClassifier
from skorch.callbacks import Checkpoint, EarlyStopping, EpochScoring, LoadInitState

from epochlog import Tracker
from epochlog.console.lines import visible
from epochlog.integrations.skorch import HISTORY_KEY, EpochlogCallback

from . import children
from .children import wait
from .stored import epochs_of, history

SAMPLES, FEATURES, BATCH = 80, 6, 16  # ValidSplit(5): 64 train (4 batches), 16 valid (1 batch)

pytestmark = [
    pytest.mark.filterwarnings("ignore:Montage name 'standard_1020' is deprecated:FutureWarning"),
    pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning"),
    # braindecode imports wfdb, which uses a pandas keyword pandas deprecates
    pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.set_index:pandas.errors.Pandas4Warning"),
]


class Classifier(torch.nn.Module):
    """A small MLP ending in softmax (NeuralNetClassifier's NLLLoss takes probabilities). `delay` seconds
    are slept in each training forward; the forward after the first `fail_after` raises RuntimeError."""

    def __init__(self, hidden: int = 8, delay: float = 0.0, fail_after: int | None = None) -> None:
        super().__init__()
        self.layers = torch.nn.Sequential(torch.nn.Linear(FEATURES, hidden), torch.nn.ReLU(),
                                          torch.nn.Linear(hidden, 2))
        self.delay, self.fail_after, self.calls = delay, fail_after, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("bad batch")
        if self.delay and self.training:
            time.sleep(self.delay)
        return torch.softmax(self.layers(x), dim=-1)


def data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((SAMPLES, FEATURES)).astype(np.float32)
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)


def net(callbacks: list[Any], **params: Any) -> NeuralNetClassifier:
    torch.manual_seed(0)
    settings: dict[str, Any] = {"module": Classifier, "module__hidden": 8, "max_epochs": 4, "lr": 0.3,
                                "batch_size": BATCH, "verbose": 0, "callbacks": callbacks, **params}
    return NeuralNetClassifier(**settings)


def both(fixture: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(fixture, ["sqlite", "mongo-journal"], indirect=True)


# -- a fit, on every backend ----------------------------------------------------------------------------

def test_a_fit_records_config_model_epochs_batches_checkpoints_and_the_best_epoch(
        tracker: Tracker, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    callback = EpochlogCallback(tracker=tracker, experiment_name="mlp", challenge=1, tags=["cpu"], subject="s01")
    # listed before the Checkpoint and a scoring callback: their values still reach the epochs
    model = net([callback,
                 ("cp", Checkpoint(dirname=str(tmp_path / "cp"), f_params="params_{last_epoch[epoch]}.pt")),
                 ("train_acc", EpochScoring("accuracy", on_train=True, lower_is_better=False, name="train_acc"))],
                verbose=1)
    X, y = data()
    model.fit(X, y)

    found = history(tracker, callback.experiment_id)
    experiment = found["experiment"]
    assert experiment["status"] == "completed" and experiment["end_time"] is not None
    assert (experiment["experiment_name"], experiment["challenge"], experiment["tags"], experiment["subject"]) \
        == ("mlp", 1, ["cpu"], "s01")
    config = experiment["config"]
    assert (config["lr"], config["max_epochs"], config["batch_size"], config["module__hidden"]) == (0.3, 4, BATCH, 8)
    assert config["module"].endswith("Classifier") and config["optimizer"] == "torch.optim.sgd.SGD"
    assert config["callbacks__cp"] == "skorch.callbacks.training.Checkpoint"
    assert config["callbacks__cp__monitor"] == "valid_loss_best"
    assert "callbacks" not in config and not any("tracker" in key or "epochlog" in key.lower() for key in config)
    assert experiment["model"] == {"name": "Classifier",
                                   "parameters": sum(p.numel() for p in model.module_.parameters())}
    assert experiment["dataset"] == {"samples": SAMPLES, "train_samples": 64, "valid_samples": 16}
    assert experiment["objective"] == {"metric": "valid_loss", "mode": "min"}

    rows = list(model.history)
    assert epochs_of(found) == [row["epoch"] for row in rows] == [1, 2, 3, 4]  # skorch's numbering, as printed
    for row, epoch in zip(rows, found["epochs"]):
        metrics = epoch["metrics"]
        assert metrics["valid_loss"] == pytest.approx(row["valid_loss"])
        assert metrics["train_acc"] == pytest.approx(row["train_acc"])  # from a callback listed after ours
        assert metrics["event_cp"] is row["event_cp"] and metrics["dur"] == pytest.approx(row["dur"])
        assert "batches" not in metrics and HISTORY_KEY not in metrics
        assert epoch["timing"]["duration_seconds"] > 0
        assert row[HISTORY_KEY] == callback.experiment_id  # what ties a restored history to the experiment
    printed = capsys.readouterr().out
    assert callback.experiment_id not in printed  # PrintLog does not print the id
    # the console is captured by default: skorch's table (its colours stripped), as the terminal still saw it
    console = tracker.get_console(callback.experiment_id)
    stdout = [line.text for line in console.lines if line.stream == "stdout"]
    assert stdout == [visible(line) for line in printed.splitlines()] and len(stdout) == 2 + 4
    assert "valid_loss" in stdout[0] and "\x1b[" in printed

    losses = [row["valid_loss"] for row in rows]
    best = int(np.argmin(losses)) + 1
    assert experiment["metrics"] == {"best_valid_loss": pytest.approx(min(losses)), "best_epoch": best,
                                     "last_epoch": 4}

    train = tracker.get_metric_series(callback.experiment_id, "train_batch_loss")
    assert list(train.steps) == list(range(1, 4 * 4 + 1))
    assert list(train.values) == pytest.approx([batch["train_loss"] for row in rows for batch in row["batches"]
                                                if "train_loss" in batch])
    assert list(tracker.get_metric_series(callback.experiment_id, "valid_batch_loss").steps) == [1, 2, 3, 4]

    saved = [row["epoch"] for row in rows if row["event_cp"]]
    assert saved and [c["epoch"] for c in found["checkpoints"]] == saved
    for checkpoint in found["checkpoints"]:
        assert checkpoint["file"]["path"] == str(tmp_path / "cp" / f"params_{checkpoint['epoch']}.pt")
        assert checkpoint["file"]["checksum"].startswith("sha256:") and checkpoint["callback"] == "cp"
        assert set(checkpoint["files"]) == {"optimizer", "criterion", "history"}
        assert checkpoint["metrics"]["valid_loss"] == pytest.approx(losses[checkpoint["epoch"] - 1])
    assert [c["epoch"] for c in found["checkpoints"] if c["is_best"]] == [best]
    assert {state["state"] for state in tracker.verify_checkpoints(callback.experiment_id)} == {"ok"}


def test_console_false_leaves_the_console_alone(sqlite_tracker: Tracker, capsys: pytest.CaptureFixture[str]) -> None:
    callback = EpochlogCallback(tracker=sqlite_tracker, console=False)
    net([callback], max_epochs=2, verbose=1).fit(*data())
    assert "valid_loss" in capsys.readouterr().out
    assert sqlite_tracker.get_console(callback.experiment_id).lines == []
    assert "console" not in history(sqlite_tracker, callback.experiment_id)["experiment"]


def test_with_an_artifact_store_the_checkpoints_are_copied_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EPOCHLOG_UPLOADS_DIR", str(tmp_path / "uploads"))
    tracker = Tracker(tmp_path / "runs.db", artifacts=tmp_path / "shared")
    callback = EpochlogCallback(tracker=tracker)
    model = net([callback, Checkpoint(dirname=str(tmp_path / "cp"), f_params="params_{last_epoch[epoch]}.pt")])
    model.fit(*data())
    assert tracker.copies is not None and tracker.copies.uploader.drain(30)
    rows = tracker.verify_checkpoints(callback.experiment_id)
    assert rows and {row["stored"] for row in rows} == {"ok"}
    best = next(row for row in rows if row["is_best"])
    for path in (tmp_path / "cp").glob("*.pt"):
        path.unlink()  # the training machine's files are gone; the copies are not
    fetched = tracker.fetch_checkpoint(callback.experiment_id, to=tmp_path / "back")
    assert fetched.name == f"params_{best['epoch']}.pt"
    assert torch.load(fetched, weights_only=True).keys() == model.module_.state_dict().keys()
    tracker.close()


def test_braindecode_eegclassifier_with_eegnex(sqlite_tracker: Tracker, tmp_path: Path) -> None:
    from braindecode import EEGClassifier
    from braindecode.models import EEGNeX

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4, 64)).astype(np.float32)
    y = rng.integers(0, 2, 40)
    callback = EpochlogCallback(tracker=sqlite_tracker, challenge=1)
    torch.manual_seed(0)
    model = EEGClassifier(EEGNeX, module__n_chans=4, module__n_outputs=2, module__n_times=64,
                          module__filter_1=4, module__filter_2=8, module__kernel_block_1_2=16,
                          module__kernel_block_4=4, module__kernel_block_5=4, max_epochs=2, batch_size=8,
                          verbose=0, callbacks=[callback, Checkpoint(dirname=str(tmp_path / "cp"))])
    model.fit(X, y)

    found = history(sqlite_tracker, callback.experiment_id)
    experiment = found["experiment"]
    assert experiment["status"] == "completed"
    assert experiment["model"] == {"name": "EEGNeX", "parameters": sum(p.numel() for p in model.module_.parameters())}
    assert experiment["config"]["module"] == "braindecode.models.eegnex.EEGNeX"
    assert experiment["config"]["module__n_chans"] == 4
    assert experiment["objective"] == {"metric": "valid_loss", "mode": "min"}
    assert epochs_of(found) == [1, 2]
    assert {"train_loss", "valid_loss", "valid_acc"} <= set(found["epochs"][0]["metrics"])
    assert experiment["metrics"]["best_epoch"] in (1, 2) and found["checkpoints"]


# -- the objective ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("callbacks", "given", "split", "objective"), [
    ([Checkpoint(monitor="valid_acc_best", f_params=None, f_optimizer=None, f_criterion=None, f_history=None)],
     None, True, {"metric": "valid_acc", "mode": "max"}),
    ([EarlyStopping(monitor="train_loss", patience=50)], None, True, {"metric": "train_loss", "mode": "min"}),
    ([EarlyStopping(monitor="valid_acc", lower_is_better=False, patience=50)], None, True,
     {"metric": "valid_acc", "mode": "max"}),
    ([EarlyStopping(monitor="valid_acc", lower_is_better=False, patience=50)], {"metric": "valid_loss"}, True,
     {"metric": "valid_loss", "mode": "min"}),
    ([], None, False, {"metric": "train_loss", "mode": "min"}),
], ids=["checkpoint", "early-stopping", "early-stopping-max", "given", "no-validation"])
def test_the_objective_is_the_metric_a_checkpoint_or_early_stopping_watches(
        sqlite_tracker: Tracker, callbacks: list[Any], given: dict[str, str] | None, split: bool,
        objective: dict[str, str]) -> None:
    callback = EpochlogCallback(tracker=sqlite_tracker, objective=given)
    model = net([callback, *callbacks], max_epochs=2, **({} if split else {"train_split": None}))
    model.fit(*data())
    experiment = history(sqlite_tracker, callback.experiment_id)["experiment"]
    assert experiment["objective"] == objective
    values = [row[objective["metric"]] for row in model.history]
    best = min(values) if objective["mode"] == "min" else max(values)
    assert experiment["metrics"][f"best_{objective['metric']}"] == pytest.approx(best)
    assert experiment["metrics"]["best_epoch"] == values.index(best) + 1


def test_early_stopping_listed_first_ends_the_run_completed_with_its_last_epoch(sqlite_tracker: Tracker) -> None:
    # EarlyStopping raises KeyboardInterrupt in on_epoch_end, before our on_epoch_end: that is no Ctrl-C
    stopper = EarlyStopping(patience=1, threshold=1e9, threshold_mode="abs", sink=lambda _: None)
    callback = EpochlogCallback(tracker=sqlite_tracker)
    model = net([stopper, callback], max_epochs=10)
    model.fit(*data())
    found = history(sqlite_tracker, callback.experiment_id)
    assert len(model.history) == 2 and epochs_of(found) == [1, 2]
    assert found["experiment"]["status"] == "completed" and "error" not in found["experiment"]
    assert found["experiment"]["metrics"]["last_epoch"] == 2


def test_a_fit_samples_system_metrics_in_the_background(sqlite_tracker: Tracker) -> None:
    sqlite_tracker.system_interval = 0.05
    callback = EpochlogCallback(tracker=sqlite_tracker)
    net([callback], module__delay=0.03).fit(*data())  # 16 training batches of 30 ms: 10 samples or so
    found = history(sqlite_tracker, callback.experiment_id)
    rss = sqlite_tracker.get_metric_series(callback.experiment_id, "system/rss_mb")
    assert len(rss.steps) >= 3 and found["experiment"]["system"]["rss_mb"]["max"] == rss.values.max() > 0
    assert "system/cpu_percent" in sqlite_tracker.get_metric_names(callback.experiment_id)


# -- resuming ---------------------------------------------------------------------------------------------

@both("store")
def test_partial_fit_continues_the_experiment(tracker: Tracker) -> None:
    callback = EpochlogCallback(tracker=tracker, experiment_name="warm")
    model = net([callback], max_epochs=3)
    X, y = data()
    model.fit(X, y)
    first = callback.experiment_id
    model.partial_fit(X, y)
    assert callback.experiment_id == first
    found = history(tracker, first)
    assert epochs_of(found) == [1, 2, 3, 4, 5, 6] and found["experiment"]["status"] == "completed"
    assert found["experiment"]["metrics"]["last_epoch"] == 6
    assert list(tracker.get_metric_series(first, "train_batch_loss").steps) == list(range(1, 6 * 4 + 1))

    model.fit(X, y)  # not warm-started: a new history, a new experiment
    assert callback.experiment_id != first and tracker.count_experiments() == 2
    assert epochs_of(history(tracker, callback.experiment_id)) == [1, 2, 3]


@both("store")
def test_a_net_restored_from_its_checkpoint_continues_the_experiment(tracker: Tracker, tmp_path: Path) -> None:
    X, y = data()
    first = EpochlogCallback(tracker=tracker, challenge=1)
    net([first, Checkpoint(monitor=None, dirname=str(tmp_path / "cp"))], max_epochs=3).fit(X, y)

    # a new process would build the same net, restore the checkpoint, and fit on
    callback = EpochlogCallback(tracker=tracker)
    checkpoint = Checkpoint(monitor=None, dirname=str(tmp_path / "cp"))
    model = net([callback, checkpoint], max_epochs=2)
    model.initialize()
    model.load_params(checkpoint=checkpoint)
    model.partial_fit(X, y)

    assert callback.experiment_id == first.experiment_id and tracker.count_experiments() == 1
    found = history(tracker, callback.experiment_id)
    assert epochs_of(found) == [1, 2, 3, 4, 5] and found["experiment"]["status"] == "completed"
    assert found["experiment"]["challenge"] == 1
    assert [c["epoch"] for c in found["checkpoints"]] == [1, 2, 3, 4, 5]
    assert sum(c["is_best"] for c in found["checkpoints"]) == 1


def test_a_job_restarted_with_load_init_state_continues_the_experiment(sqlite_tracker: Tracker,
                                                                      tmp_path: Path) -> None:
    def job(epochs: int) -> EpochlogCallback:
        callback = EpochlogCallback(tracker=sqlite_tracker)
        checkpoint = Checkpoint(monitor=None, dirname=str(tmp_path / "cp"))
        # listed before LoadInitState, which restores the history in on_train_begin, after ours
        net([callback, LoadInitState(checkpoint), checkpoint], max_epochs=epochs).fit(*data())
        return callback

    first, second = job(2), job(2)
    assert second.experiment_id == first.experiment_id and sqlite_tracker.count_experiments() == 1
    assert epochs_of(history(sqlite_tracker, first.experiment_id)) == [1, 2, 3, 4]


def test_experiment_id_continues_a_named_experiment(sqlite_tracker: Tracker) -> None:
    X, y = data()
    first = EpochlogCallback(tracker=sqlite_tracker)
    model = net([first], max_epochs=2)
    model.fit(X, y)
    again = EpochlogCallback(tracker=sqlite_tracker, experiment_id=first.experiment_id)
    restored = net([again], max_epochs=1)
    restored.initialize()
    for row in model.history:  # a history saved without the callback: only experiment_id= ties it
        restored.history.append({key: value for key, value in row.items() if key != HISTORY_KEY})
    restored.partial_fit(X, y)
    assert again.experiment_id == first.experiment_id
    assert epochs_of(history(sqlite_tracker, first.experiment_id)) == [1, 2, 3]
    assert again.get_params()["experiment_id"] == first.experiment_id


def test_a_fit_that_raised_is_failed_when_the_next_fit_begins(sqlite_tracker: Tracker) -> None:
    X, y = data()
    callback = EpochlogCallback(tracker=sqlite_tracker)
    model = net([callback], module__fail_after=6)  # the 2nd epoch's 2nd batch
    with pytest.raises(RuntimeError, match="bad batch"):
        model.fit(X, y)  # skorch calls no callback on an exception
    failed = callback.experiment_id
    assert sqlite_tracker.get_experiment(failed)["status"] == "running"

    model.set_params(module__fail_after=None)
    model.fit(X, y)
    run = sqlite_tracker.get_experiment(failed)
    assert run["status"] == "failed" and run["error"]["type"] == "FitAborted"
    assert epochs_of(history(sqlite_tracker, failed)) == [1]
    assert callback.experiment_id != failed
    assert sqlite_tracker.get_experiment(callback.experiment_id)["status"] == "completed"


def test_the_callback_pickles_and_clones_with_its_parameters(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'e.db'}"
    callback = EpochlogCallback(uri=uri, challenge=2, tags=["a"], subject="s01")
    model = net([callback], max_epochs=1)
    model.fit(*data())
    restored = pickle.loads(pickle.dumps(model))  # what Checkpoint(f_pickle=...) does mid-fit
    [(_, copy)] = [(name, cb) for name, cb in restored.callbacks_ if isinstance(cb, EpochlogCallback)]
    assert (copy.uri, copy.challenge, copy.subject, copy.recorder_) == (uri, 2, "s01", None)
    cloned = clone(model)  # scikit-learn's grid search clones the net and its callbacks
    [fresh] = [cb for cb in cloned.callbacks if isinstance(cb, EpochlogCallback)]
    assert fresh.get_params() == {**callback.get_params(), "experiment_id": None}
    assert fresh.experiment_id is None and fresh.subject == "s01"


# -- child processes: uncaught errors and signals, which only a real process shows --------------------------

CHILD = textwrap.dedent("""
    import sys
    from skorch.callbacks import Checkpoint
    from tests.integrations.test_skorch import EpochlogCallback, data, net
    uri, checkpoints, mode = sys.argv[1:4]
    module = {"module__fail_after": 6} if mode == "fail" else {"module__delay": 0.12}
    model = net([EpochlogCallback(uri=uri, experiment_name="child", challenge=1),
                 Checkpoint(dirname=checkpoints)], max_epochs=200, lr=0.05, **module)
    model.fit(*data())
""")


def start_child(uri: str, tmp_path: Path, mode: str) -> subprocess.Popen[bytes]:
    return children.start_child(CHILD, tmp_path, uri, str(tmp_path / "cp"), mode)


def child_experiment(tracker: Tracker, child: subprocess.Popen[bytes], tmp_path: Path, epochs: int = 2) -> str:
    return children.child_experiment(tracker, child, tmp_path, epochs=epochs)







@pytest.mark.parametrize("backend_uri", ["mongo-journal"], indirect=True)
def test_an_exception_in_forward_fails_the_experiment(backend_uri: str, tmp_path: Path) -> None:
    child = start_child(backend_uri, tmp_path, "fail")
    assert wait(child, tmp_path) == 1
    with Tracker(backend_uri) as tracker:
        assert tracker.sync()
        [run] = tracker.search_experiments({"experiment_name": "child"})
        assert run["status"] == "failed", (tmp_path / "child.log").read_text()
        assert (run["error"]["type"], run["error"]["message"]) == ("RuntimeError", "bad batch")
        assert "forward" in run["error"]["traceback"]
        assert epochs_of(tracker.get_experiment_history(run["_id"])) == [1]


@pytest.mark.parametrize(("backend_uri", "signum", "code", "error"), [
    ("mongo", signal.SIGINT, 0, "KeyboardInterrupt"),  # skorch swallows it, ends the fit, calls on_train_end
    ("sqlite", signal.SIGTERM, 128 + signal.SIGTERM, "Terminated"),
], indirect=["backend_uri"], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_and_sigterm_stop_the_experiment(backend_uri: str, signum: int, code: int, error: str,
                                                tmp_path: Path) -> None:
    child = start_child(backend_uri, tmp_path, "slow")
    with Tracker(backend_uri) as tracker:
        experiment_id = child_experiment(tracker, child, tmp_path)
        child.send_signal(signum)
        assert wait(child, tmp_path) == code, (tmp_path / "child.log").read_text()
        assert tracker.sync()
        found = tracker.get_experiment_history(experiment_id)
        run = found["experiment"]
        assert run["status"] == "stopped" and run["error"]["type"] == error and run["end_time"] is not None
        logged = epochs_of(found)
        assert logged == list(range(1, len(logged) + 1)) and run["metrics"]["last_epoch"] == logged[-1]


@pytest.mark.parametrize("backend_uri", ["sqlite"], indirect=True)
def test_sigkill_keeps_the_best_epoch_and_the_restarted_job_continues(backend_uri: str, tmp_path: Path) -> None:
    child = start_child(backend_uri, tmp_path, "slow")
    with Tracker(backend_uri) as tracker:
        experiment_id, found = children.sigkilled_keeps_its_best(tracker, child, tmp_path, "valid_loss")

        # the job restarts: the same net, restored from skorch's checkpoint of its best epoch, fits on
        callback = EpochlogCallback(tracker=tracker)
        checkpoint = Checkpoint(dirname=str(tmp_path / "cp"))
        model = net([callback, checkpoint], max_epochs=2, lr=0.05)
        model.initialize()
        model.load_params(checkpoint=checkpoint)
        model.partial_fit(*data())
        assert callback.experiment_id == experiment_id and tracker.count_experiments() == 1
        resumed = tracker.get_experiment_history(experiment_id)
        logged = epochs_of(resumed)
        assert logged == sorted(set(logged)) and logged[0] == 1 and len(model.history) in logged
        assert resumed["experiment"]["status"] == "completed"
