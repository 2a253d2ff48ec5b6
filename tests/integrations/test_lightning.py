"""The PyTorch Lightning logger, on real `Trainer.fit`s of a tiny network on CPU.

The main fit runs on every backend, with each namespace's Trainer (`lightning.pytorch` and the standalone
`pytorch_lightning`); a failure and resuming on the embedded store and MongoDB behind the journal; the other
tests on the embedded store. Ctrl-C and SIGTERM are real signals the training process sends itself (Lightning
ends the fit with `SystemExit` then); a child process costs seconds of CPU importing torch and Lightning, so
only SIGKILL, which nothing survives, runs in one, followed by a restarted job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import lightning.pytorch as L
import pytest
import pytorch_lightning
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_only
from torch.utils.data import DataLoader, TensorDataset

from epochlog import Tracker
from epochlog.integrations import pytorch_lightning as standalone
from epochlog.integrations.lightning import CHECKPOINT_KEY, EpochlogLogger

from . import children
from .stored import epochs_of, history

TRAIN, VAL, FEATURES, BATCH = 64, 16, 6, 16  # 4 training steps an epoch

pytestmark = [
    # torch deprecates what Lightning's pytree helper still calls
    pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated"),
    pytest.mark.filterwarnings("ignore:The '(train|val)_dataloader' does not have many workers"),
    # a restarted job resumes into the directory its checkpoints are in, as Lightning expects
    pytest.mark.filterwarnings("ignore:Checkpoint directory .* exists and is not empty"),
]


class Network:
    """A small MLP, mixed into either namespace's LightningModule; `delay` seconds are slept in each training step,
    the step after the first `fail_after` raises RuntimeError, the one after the first `signal_after` sends the
    process `signum`."""

    def __init__(self, hidden: int = 8, lr: float = 0.3, delay: float = 0.0, fail_after: int | None = None,
                 signal_after: int | None = None, signum: int = 0) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(FEATURES, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2))
        self.steps = 0

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], index: int) -> torch.Tensor:
        self.steps += 1
        if self.hparams["fail_after"] is not None and self.steps > self.hparams["fail_after"]:
            raise RuntimeError("bad batch")
        if self.hparams["signal_after"] is not None and self.steps == self.hparams["signal_after"] + 1:
            os.kill(os.getpid(), self.hparams["signum"])
        if self.hparams["delay"]:
            time.sleep(self.hparams["delay"])
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self.net(x), y)
        self.log("train_loss", loss, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], index: int) -> None:
        x, y = batch
        logits = self.net(x)
        self.log("val_loss", torch.nn.functional.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(-1) == y).float().mean())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams["lr"])


class Classifier(Network, L.LightningModule):
    """`Network` as a `lightning.pytorch` LightningModule."""


def loaders() -> tuple[DataLoader[Any], DataLoader[Any]]:
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(TRAIN + VAL, FEATURES, generator=generator)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    return (DataLoader(TensorDataset(X[:TRAIN], y[:TRAIN]), batch_size=BATCH),
            DataLoader(TensorDataset(X[TRAIN:], y[TRAIN:]), batch_size=BATCH))


def trainer(logger: EpochlogLogger, callbacks: list[Any] | None = None, lightning: ModuleType = L,
            **options: Any) -> L.Trainer:
    settings: dict[str, Any] = {"max_epochs": 4, "accelerator": "cpu", "enable_progress_bar": False,
                                "enable_model_summary": False, "log_every_n_steps": 1, **options}
    return lightning.Trainer(logger=logger, callbacks=callbacks or [], **settings)


def fit(logger: EpochlogLogger, callbacks: list[Any] | None = None, module: Classifier | None = None,
        ckpt_path: str | None = None, **options: Any) -> L.Trainer:
    torch.manual_seed(0)
    run = trainer(logger, callbacks, **options)
    run.fit(module or Classifier(), *loaders(), ckpt_path=ckpt_path)
    return run


class Reported:
    """What Lightning itself reported at each epoch's end, to compare the experiment with (mixed into either
    namespace's Callback)."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.epochs.append({key: float(value) for key, value in trainer.callback_metrics.items()})


class Values(Reported, L.Callback):
    """`Reported` as a `lightning.pytorch` Callback."""


# pytorch_lightning's Trainer accepts only its own LightningModules, Callbacks and Loggers

class StandaloneClassifier(Network, pytorch_lightning.LightningModule):
    """`Network` as a `pytorch_lightning` LightningModule."""


class StandaloneValues(Reported, pytorch_lightning.Callback):
    """`Reported` as a `pytorch_lightning` Callback."""


# -- a fit, on every backend ----------------------------------------------------------------------------

@pytest.mark.parametrize(("lightning", "logger_type", "module_type", "values_type"), [
    (L, EpochlogLogger, Classifier, Values),
    (pytorch_lightning, standalone.EpochlogLogger, StandaloneClassifier, StandaloneValues),
], ids=["lightning.pytorch", "pytorch_lightning"])
def test_a_fit_records_config_model_epochs_steps_checkpoints_and_the_end(
        tracker: Tracker, tmp_path: Path, lightning: ModuleType, logger_type: type[EpochlogLogger],
        module_type: type[Classifier], values_type: type[Values]) -> None:
    logger = logger_type(tracker=tracker, experiment_name="mlp", challenge=1, tags=["cpu"], subject="s01")
    checkpoint = lightning.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "cp"), monitor="val_loss", save_top_k=2,
                                                     save_last=True)
    seen = values_type()
    run = fit(logger, [checkpoint, seen], module=module_type(), lightning=lightning)

    found = history(tracker, logger.experiment_id)
    experiment = found["experiment"]
    assert experiment["status"] == "completed" and experiment["end_time"] is not None
    assert (experiment["experiment_name"], experiment["challenge"], experiment["tags"], experiment["subject"]) \
        == ("mlp", 1, ["cpu"], "s01")
    assert experiment["config"] == {"hidden": 8, "lr": 0.3, "delay": 0.0, "fail_after": None, "signal_after": None,
                                    "signum": 0}
    parameters = sum(p.numel() for p in run.lightning_module.parameters())
    assert experiment["model"] == {"name": module_type.__name__, "module": "Sequential", "parameters": parameters}
    assert experiment["dataset"] == {"train_size": TRAIN, "val_size": VAL}
    assert experiment["objective"] == {"metric": "val_loss", "mode": "min"}

    # Lightning's epoch numbers; each row holds the validation and the training epoch's metrics
    assert epochs_of(found) == [0, 1, 2, 3]
    for epoch, reported in zip(found["epochs"], seen.epochs):
        assert set(epoch["metrics"]) == {"val_loss", "val_acc", "train_loss_epoch"}
        assert epoch["metrics"]["val_loss"] == pytest.approx(reported["val_loss"])
        assert epoch["metrics"]["train_loss_epoch"] == pytest.approx(reported["train_loss_epoch"])
        assert epoch["timing"]["duration_seconds"] > 0
    assert [epoch["global_step"] for epoch in found["epochs"]] == [4, 8, 12, 16]
    losses = [epoch["metrics"]["val_loss"] for epoch in found["epochs"]]
    best = losses.index(min(losses))
    assert experiment["metrics"] == {"best_val_loss": pytest.approx(min(losses)), "best_epoch": best,
                                     "last_epoch": 3}

    # on_step values as a step series at Lightning's step
    assert [name for name in tracker.get_metric_names(experiment["_id"])
                if not name.startswith("system/")] == ["train_loss_step"]  # system/ when it ran 10 s
    assert list(tracker.get_metric_series(experiment["_id"], "train_loss_step").steps) == list(range(16))

    # every file ModelCheckpoint saved: each epoch's, and last.ckpt after it
    checkpoints = found["checkpoints"]
    assert [(c["epoch"], Path(c["file"]["path"]).name) for c in checkpoints] == \
        [(epoch, name) for epoch in range(4) for name in (f"epoch={epoch}-step={4 * epoch + 4}.ckpt", "last.ckpt")]
    assert all(c["file"]["checksum"].startswith("sha256:") for c in checkpoints)
    assert [c["last"] for c in checkpoints] == [False, True] * 4
    [chosen] = [c for c in checkpoints if c["is_best"]]
    assert chosen["file"]["path"] == checkpoint.best_model_path and chosen["epoch"] == best
    assert chosen["metrics"]["val_loss"] == pytest.approx(min(losses)) and chosen["monitor"] == "val_loss"
    # top 2: the others were deleted by ModelCheckpoint, last.ckpt was overwritten
    states = {c["file"]["path"]: s["state"] for c, s in zip(checkpoints, tracker.verify_checkpoints(logger.experiment_id))}
    assert states[checkpoint.best_model_path] == "ok"
    assert torch.load(checkpoint.last_model_path, weights_only=False)[CHECKPOINT_KEY] == \
        {"experiment_id": logger.experiment_id}
    assert logger.version == logger.experiment_id and logger.name == "epochlog"


# -- the objective ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("callbacks", "given", "objective"), [
    ([ModelCheckpoint(monitor="val_acc", mode="max", save_top_k=1)], None, {"metric": "val_acc", "mode": "max"}),
    ([EarlyStopping(monitor="train_loss_epoch", patience=50)], None, {"metric": "train_loss_epoch", "mode": "min"}),
    ([EarlyStopping(monitor="val_acc", mode="max", patience=50)], {"metric": "val_loss"},
     {"metric": "val_loss", "mode": "min"}),
    ([], None, {"metric": "val_loss", "mode": "min"}),
], ids=["checkpoint", "early-stopping", "given", "default"])
def test_the_objective_is_the_metric_a_checkpoint_or_early_stopping_watches(
        sqlite_tracker: Tracker, tmp_path: Path, callbacks: list[Any], given: dict[str, str] | None,
        objective: dict[str, str]) -> None:
    logger = EpochlogLogger(tracker=sqlite_tracker, objective=given)
    fit(logger, callbacks, max_epochs=3, default_root_dir=str(tmp_path))
    found = history(sqlite_tracker, logger.experiment_id)
    experiment = found["experiment"]
    assert experiment["objective"] == objective
    values = [epoch["metrics"][objective["metric"]] for epoch in found["epochs"]]
    best = min(values) if objective["mode"] == "min" else max(values)
    assert experiment["metrics"][f"best_{objective['metric']}"] == pytest.approx(best)
    assert experiment["metrics"]["best_epoch"] == values.index(best)
    if callbacks and isinstance(callbacks[0], ModelCheckpoint):
        [chosen] = [c for c in found["checkpoints"] if c["is_best"]]
        assert chosen["file"]["path"] == callbacks[0].best_model_path
    if not callbacks:  # Lightning's own checkpoint of each epoch, under the logger's name and version
        checkpoints = found["checkpoints"]
        assert [c["epoch"] for c in checkpoints] == [0, 1, 2]
        # named before the experiment began: by the time stamp the logger's version was then
        assert {Path(c["file"]["path"]).parent.parent.parent for c in checkpoints} == {tmp_path / "epochlog"}
        assert [c["epoch"] for c in checkpoints if c["is_best"]] == [values.index(best)]  # the objective's


def test_early_stopping_ends_the_run_completed(sqlite_tracker: Tracker) -> None:
    logger = EpochlogLogger(tracker=sqlite_tracker)
    run = fit(logger, [EarlyStopping(monitor="val_loss", patience=1, min_delta=1e9)], max_epochs=10,
              enable_checkpointing=False)
    found = history(sqlite_tracker, logger.experiment_id)
    assert run.current_epoch == 2 and epochs_of(found) == [0, 1]
    assert found["experiment"]["status"] == "completed" and "error" not in found["experiment"]


@pytest.mark.parametrize("store", ["sqlite", "mongo-journal"], indirect=True)  # the tracker's store
def test_an_exception_fails_the_experiment_with_the_error(tracker: Tracker, tmp_path: Path) -> None:
    logger = EpochlogLogger(tracker=tracker)
    with pytest.raises(RuntimeError, match="bad batch"):
        fit(logger, module=Classifier(fail_after=6), default_root_dir=str(tmp_path))  # in the 2nd epoch
    found = history(tracker, logger.experiment_id)
    run = found["experiment"]
    assert run["status"] == "failed" and (run["error"]["type"], run["error"]["message"]) == ("RuntimeError", "bad batch")
    assert "training_step" in run["error"]["traceback"]
    assert epochs_of(found) == [0] and len(found["checkpoints"]) == 1


def test_only_rank_zero_records(sqlite_tracker: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rank_zero_only, "rank", 1)  # what every other process of a DDP fit sees
    logger = EpochlogLogger(tracker=sqlite_tracker)
    fit(logger, max_epochs=1, default_root_dir=str(tmp_path))
    assert logger.experiment_id is None and sqlite_tracker.count_experiments() == 0
    assert not isinstance(logger.experiment, Tracker)  # Lightning's stand-in, which ignores every call


def test_without_hyperparameter_logging_the_callback_given_records(sqlite_tracker: Tracker, tmp_path: Path) -> None:
    logger = EpochlogLogger(tracker=sqlite_tracker)
    fit(logger, [logger.callback], max_epochs=2, enable_autolog_hparams=False, default_root_dir=str(tmp_path))
    found = history(sqlite_tracker, logger.experiment_id)
    assert found["experiment"]["status"] == "completed" and epochs_of(found) == [0, 1]
    assert found["experiment"]["config"]["hidden"] == 8 and found["checkpoints"]


@pytest.mark.parametrize(("store", "signum", "code", "error"), [
    ("mongo", signal.SIGINT, 1, "KeyboardInterrupt"),  # Lightning catches it, finalizes, exits with 1
    ("sqlite", signal.SIGTERM, 128 + signal.SIGTERM, "Terminated"),
], indirect=["store"], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_and_sigterm_stop_the_experiment(tracker: Tracker, tmp_path: Path, signum: int, code: int,
                                                error: str) -> None:
    logger = EpochlogLogger(tracker=tracker)
    try:
        with pytest.raises(SystemExit) as ended:  # what ends the process
            fit(logger, module=Classifier(signal_after=9, signum=signum), max_epochs=10,
                default_root_dir=str(tmp_path))  # in the 3rd epoch
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Lightning ignores Ctrl-C once it had one
    assert ended.value.code == code
    found = history(tracker, logger.experiment_id)
    run = found["experiment"]
    assert run["status"] == "stopped" and run["error"]["type"] == error and run["end_time"] is not None
    assert epochs_of(found) == [0, 1] and run["metrics"]["last_epoch"] == 1


# -- resuming ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("store", ["sqlite", "mongo-journal"], indirect=True)  # the tracker's store
def test_fit_from_a_checkpoint_continues_the_experiment(tracker: Tracker, tmp_path: Path) -> None:
    first = EpochlogLogger(tracker=tracker, challenge=2)
    fit(first, [ModelCheckpoint(dirpath=str(tmp_path / "cp"), save_last=True)], max_epochs=2)
    saved = torch.load(tmp_path / "cp" / "last.ckpt", weights_only=False)
    assert saved[CHECKPOINT_KEY] == {"experiment_id": first.experiment_id}

    # the job restarts: a new trainer and logger, resuming from the last checkpoint
    logger = EpochlogLogger(tracker=tracker)
    fit(logger, [ModelCheckpoint(dirpath=str(tmp_path / "cp"), save_last=True)], max_epochs=4,
        ckpt_path=str(tmp_path / "cp" / "last.ckpt"))
    assert logger.experiment_id == first.experiment_id and tracker.count_experiments() == 1
    found = history(tracker, first.experiment_id)
    assert found["experiment"]["status"] == "completed" and found["experiment"]["challenge"] == 2
    assert epochs_of(found) == [0, 1, 2, 3] and found["experiment"]["metrics"]["last_epoch"] == 3
    assert [c["epoch"] for c in found["checkpoints"]] == [0, 0, 1, 1, 2, 2, 3, 3]
    steps = tracker.get_metric_series(found["experiment"]["_id"], "train_loss_step").steps
    assert list(steps) == list(range(16))  # Lightning counts on from the checkpoint


def test_experiment_id_continues_a_named_experiment(sqlite_tracker: Tracker, tmp_path: Path) -> None:
    first = EpochlogLogger(tracker=sqlite_tracker)
    fit(first, max_epochs=1, default_root_dir=str(tmp_path))
    again = EpochlogLogger(tracker=sqlite_tracker, experiment_id=first.experiment_id)
    assert again.version == first.experiment_id
    fit(again, max_epochs=1, default_root_dir=str(tmp_path))
    assert again.experiment_id == first.experiment_id and sqlite_tracker.count_experiments() == 1


# -- child processes: uncaught errors and signals, which only a real process shows --------------------------

CHILD = textwrap.dedent("""
    import sys
    from lightning.pytorch.callbacks import ModelCheckpoint
    from tests.integrations.test_lightning import Classifier, EpochlogLogger, fit
    uri, checkpoints = sys.argv[1:3]
    module = Classifier(lr=0.05, delay=0.05)
    fit(EpochlogLogger(uri=uri, experiment_name="child", challenge=1),
        [ModelCheckpoint(dirpath=checkpoints, monitor="val_loss", save_last=True)], module=module, max_epochs=200)
""")


def start_child(uri: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    return children.start_child(CHILD, tmp_path, uri, str(tmp_path / "cp"), python_options=("-W", "ignore"))


def child_experiment(tracker: Tracker, child: subprocess.Popen[bytes], tmp_path: Path, epochs: int) -> str:
    return children.child_experiment(tracker, child, tmp_path, epochs=epochs)







@pytest.mark.parametrize("backend_uri", ["sqlite"], indirect=True)
def test_sigkill_keeps_the_best_epoch_and_the_restarted_job_continues(backend_uri: str, tmp_path: Path) -> None:
    child = start_child(backend_uri, tmp_path)
    with Tracker(backend_uri) as tracker:
        experiment_id, found = children.sigkilled_keeps_its_best(tracker, child, tmp_path, "val_loss")

        # the job restarts from Lightning's last checkpoint: the same experiment goes on
        logger = EpochlogLogger(tracker=tracker)
        last = torch.load(tmp_path / "cp" / "last.ckpt", weights_only=False)["epoch"]
        fit(logger, [ModelCheckpoint(dirpath=str(tmp_path / "cp"), monitor="val_loss", save_last=True)],
            module=Classifier(lr=0.05), max_epochs=last + 3, ckpt_path=str(tmp_path / "cp" / "last.ckpt"))
        assert logger.experiment_id == experiment_id and tracker.count_experiments() == 1
        resumed = tracker.get_experiment_history(experiment_id)
        assert epochs_of(resumed) == list(range(last + 3))
        assert resumed["experiment"]["status"] == "completed"
        assert resumed["experiment"]["metrics"]["last_epoch"] == last + 2


DDP_CHILD = textwrap.dedent("""
    import sys
    from lightning.pytorch.callbacks import ModelCheckpoint
    from tests.integrations.test_lightning import Classifier, EpochlogLogger, fit
    uri, checkpoints = sys.argv[1:3]
    fit(EpochlogLogger(uri=uri, experiment_name="ddp", console=False),
        [ModelCheckpoint(dirpath=checkpoints, monitor="val_loss", save_top_k=-1)], module=Classifier(),
        max_epochs=2, strategy="ddp", devices=2)
""")


@pytest.mark.parametrize("backend_uri", ["sqlite"], indirect=True)
def test_a_ddp_fit_on_two_processes_is_recorded_once_by_rank_zero(backend_uri: str, tmp_path: Path) -> None:
    # Lightning's DDP launcher starts rank 1 by running the script again, so the child is a file, not `-c`
    script = tmp_path / "ddp_child.py"
    script.write_text(DDP_CHILD)
    done = subprocess.run([sys.executable, "-W", "ignore", str(script), backend_uri, str(tmp_path / "cp")],
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": children.CHILD_ENV_PATH})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "distributed_backend=gloo" in done.stdout + done.stderr and "2/2" in done.stdout + done.stderr
    with Tracker(backend_uri) as tracker:
        runs = tracker.search_experiments({})
        assert [run["experiment_name"] for run in runs] == ["ddp"]
        found = tracker.get_experiment_history(str(runs[0]["_id"]))
        assert found["experiment"]["status"] == "completed" and epochs_of(found) == [0, 1]
        # 64 samples split over two ranks: 2 steps an epoch, each logged once
        assert [(c["epoch"], os.path.basename(c["file"]["path"])) for c in found["checkpoints"]] == \
            [(0, "epoch=0-step=2.ckpt"), (1, "epoch=1-step=4.ckpt")]
        steps = tracker.get_metric_series(str(runs[0]["_id"]), "train_loss_step").steps.tolist()
        assert steps == sorted(set(steps)) and len(steps) == 4
