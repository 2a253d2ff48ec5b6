"""The Hugging Face Trainer integration, on real fits of a tiny BERT built from its config (no hub download).

The main fit runs on every backend; the in-process failure and resume tests on the embedded store and MongoDB
behind the journal. Each child process spends seconds of CPU importing torch and transformers, so there are three:
an uncaught failure (MongoDB behind the journal) and SIGTERM (embedded store), each followed by a resume in a new
process, and Ctrl-C (embedded store).
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers is imported: never reach for the hub
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import signal
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, EvalPrediction, Trainer, TrainingArguments

from epochlog import Tracker
from epochlog.checkpoints import file_facts
from epochlog.integrations.transformers import EpochlogCallback

from . import children
from .children import wait
from .stored import history

TRAIN_SIZE, EVAL_SIZE, BATCH = 32, 16, 8  # 4 steps an epoch


class Tokens(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """Random token ids whose label is whether the first token is in the lower half of the vocabulary.
    `delay` seconds are spent on each item after the first `delay_after`; fetching item number `fail_at` (and
    every later one, unless `once`) raises a RuntimeError with `error`."""

    def __init__(self, size: int, seed: int, *, delay: float = 0.0, delay_after: int = 0,
                 fail_at: int | None = None, error: str = "bad record", once: bool = False) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(0, 64, (size, 8), generator=generator)
        self.labels = (self.ids[:, 0] < 32).long()
        self.delay, self.delay_after = delay, delay_after
        self.fail_at, self.error, self.once = fail_at, error, once
        self.fetched = 0

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        self.fetched += 1
        if self.fail_at is not None and self.fetched >= self.fail_at:
            if self.once:
                self.fail_at = None
            raise RuntimeError(self.error)
        if self.delay and self.fetched > self.delay_after:
            time.sleep(self.delay)
        return {"input_ids": self.ids[index], "labels": self.labels[index]}


def tiny_model() -> BertForSequenceClassification:
    torch.manual_seed(0)
    return BertForSequenceClassification(BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1,
                                                    num_attention_heads=2, intermediate_size=32))


def training_args(output_dir: Path | str, **overrides: Any) -> TrainingArguments:
    options: dict[str, Any] = dict(output_dir=str(output_dir), num_train_epochs=3, eval_strategy="epoch",
                                   save_strategy="epoch", report_to=[], use_cpu=True, logging_steps=1,
                                   per_device_train_batch_size=BATCH, per_device_eval_batch_size=BATCH,
                                   learning_rate=1e-2, seed=0, disable_tqdm=True)
    return TrainingArguments(**{**options, **overrides})


def trainer(output_dir: Path | str, callback: EpochlogCallback, *, train: Tokens | None = None,
            eval_dataset: Any = None, compute_metrics: Any = None, **overrides: Any) -> Trainer:
    return Trainer(model=tiny_model(), args=training_args(output_dir, **overrides),
                   train_dataset=train if train is not None else Tokens(TRAIN_SIZE, 0),
                   eval_dataset=eval_dataset if eval_dataset is not None else Tokens(EVAL_SIZE, 1),
                   compute_metrics=compute_metrics, callbacks=[callback])


def evaluations(fit: Trainer, key: str = "eval_loss") -> list[dict[str, Any]]:
    return [entry for entry in fit.state.log_history if key in entry]


def test_a_fit_records_config_model_epochs_steps_checkpoints_and_the_end(tracker: Tracker, tmp_path: Path) -> None:
    callback = EpochlogCallback(tracker=tracker, challenge=1, tags=["hf"])
    fit = trainer(tmp_path / "out", callback, run_name="tiny-bert", hub_token="hf_secret")
    output = fit.train()

    found = history(tracker, callback.experiment_id)
    experiment = found["experiment"]
    assert experiment["status"] == "completed"
    assert (experiment["experiment_name"], experiment["challenge"], experiment["tags"]) == ("tiny-bert", 1, ["hf"])
    config = experiment["config"]
    assert (config["learning_rate"], config["num_train_epochs"], config["eval_strategy"]) == (1e-2, 3, "epoch")
    assert config["model_config"]["hidden_size"] == 16 and config["model_config"]["vocab_size"] == 64
    assert "hub_token" not in config and "hf_secret" not in repr(config)
    parameters = sum(parameter.numel() for parameter in tiny_model().parameters())
    assert experiment["model"] == {"name": "BertForSequenceClassification", "parameters": parameters}
    assert experiment["dataset"] == {"train_size": TRAIN_SIZE, "eval_size": EVAL_SIZE}
    assert experiment["objective"] == {"metric": "eval_loss", "mode": "min"}

    # one epoch per evaluation, numbered as the Trainer counts epochs, with its step and float epoch
    logged = evaluations(fit)
    epochs = found["epochs"]
    assert [epoch["epoch"] for epoch in epochs] == [1, 2, 3]
    assert [epoch["metrics"]["eval_loss"] for epoch in epochs] == pytest.approx([e["eval_loss"] for e in logged])
    assert [(epoch["global_step"], epoch["train_epoch"]) for epoch in epochs] == [(4, 1.0), (8, 2.0), (12, 3.0)]
    losses = [entry["loss"] for entry in fit.state.log_history if "loss" in entry]
    assert epochs[0]["metrics"]["train_loss"] == pytest.approx(np.mean(losses[:4]))
    assert all(epoch["timing"]["duration_seconds"] > 0 for epoch in epochs)
    best = int(np.argmin([epoch["metrics"]["eval_loss"] for epoch in epochs])) + 1
    metrics = experiment["metrics"]
    assert metrics["best_epoch"] == best and metrics["last_epoch"] == 3
    assert metrics["best_eval_loss"] == pytest.approx(min(e["eval_loss"] for e in logged))
    assert metrics["train_loss"] == pytest.approx(output.training_loss) and metrics["train_runtime"] > 0

    # the training logs as step series at the global step
    assert {"loss", "learning_rate", "grad_norm"} <= set(tracker.get_metric_names(experiment["_id"]))
    series = tracker.get_metric_series(experiment["_id"], "loss")
    assert series.steps.tolist() == list(range(1, 13)) and series.values.tolist() == pytest.approx(losses)
    assert tracker.get_metric_series(experiment["_id"], "learning_rate").values[0] == pytest.approx(1e-2)

    # every checkpoint directory, its checksum, the best one
    checkpoints = found["checkpoints"]
    paths = [str(tmp_path / "out" / f"checkpoint-{step}") for step in (4, 8, 12)]
    assert [(c["epoch"], c["file"]["path"], c["global_step"]) for c in checkpoints] == \
        list(zip([1, 2, 3], paths, [4, 8, 12]))
    assert [c["file"]["checksum"] for c in checkpoints] == [(file_facts(path) or {}).get("checksum") for path in paths]
    assert [c["epoch"] for c in checkpoints if c["is_best"]] == [best]
    assert [c["metrics"]["eval_loss"] for c in checkpoints] == pytest.approx([e["eval_loss"] for e in logged])
    assert {check["state"] for check in tracker.verify_checkpoints(experiment["_id"])} == {"ok"}


def test_steps_strategy_a_dict_of_evaluation_sets_and_the_trainers_best_metric(tmp_path: Path) -> None:
    def accuracy(prediction: EvalPrediction) -> dict[str, float]:
        return {"accuracy": float((np.argmax(prediction.predictions, -1) == prediction.label_ids).mean())}

    tracker = Tracker(f"sqlite:///{tmp_path / 'e.db'}")
    callback = EpochlogCallback(tracker=tracker)
    fit = trainer(tmp_path / "out", callback, eval_dataset={"a": Tokens(EVAL_SIZE, 1), "b": Tokens(8, 2)},
                  compute_metrics=accuracy, eval_strategy="steps", eval_steps=3, save_strategy="steps",
                  save_steps=3, metric_for_best_model="a_accuracy", load_best_model_at_end=True)
    fit.train()

    found = history(tracker, callback.experiment_id)
    experiment, epochs = found["experiment"], found["epochs"]
    assert experiment["objective"] == {"metric": "eval_a_accuracy", "mode": "max"}
    assert experiment["dataset"] == {"train_size": TRAIN_SIZE, "eval_a_size": EVAL_SIZE, "eval_b_size": 8}
    # the step strategy numbers epochs by evaluation; both sets of one evaluation share its epoch
    assert [(e["epoch"], e["global_step"], e["train_epoch"]) for e in epochs] == \
        [(1, 3, 0.75), (2, 6, 1.5), (3, 9, 2.25), (4, 12, 3.0)]
    assert all({"eval_a_loss", "eval_a_accuracy", "eval_b_loss", "train_loss"} <= set(e["metrics"]) for e in epochs)
    assert [e["metrics"]["eval_b_loss"] for e in epochs] == \
        pytest.approx([entry["eval_b_loss"] for entry in evaluations(fit, "eval_b_loss")])
    best = [c["file"]["path"] for c in found["checkpoints"] if c["is_best"]]
    assert best == [fit.state.best_model_checkpoint]
    assert experiment["metrics"]["best_eval_a_accuracy"] == fit.state.best_metric
    tracker.close()


def test_report_to_none_leaves_epochlog_the_only_logger(tmp_path: Path) -> None:
    callback = EpochlogCallback(uri=f"sqlite:///{tmp_path / 'e.db'}")
    handler = trainer(tmp_path / "out", callback).callback_handler
    assert callback in handler.callbacks
    others = [type(c) for c in handler.callbacks if c is not callback]
    assert all(kind.__module__ == "transformers.trainer_callback" for kind in others), others


def test_only_the_main_process_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Trainer, "is_world_process_zero", lambda self: False)  # what every other rank sees
    tracker = Tracker(f"sqlite:///{tmp_path / 'e.db'}")
    callback = EpochlogCallback(tracker=tracker)
    trainer(tmp_path / "out", callback, num_train_epochs=1).train()
    assert callback.experiment_id is None and tracker.count_experiments() == 0
    tracker.close()


@pytest.mark.parametrize("store", ["sqlite", "mongo-journal"], indirect=True)  # the tracker's store
def test_a_caught_failure_then_a_new_train_fails_the_first_experiment(tracker: Tracker, tmp_path: Path) -> None:
    callback = EpochlogCallback(tracker=tracker)
    data = Tokens(TRAIN_SIZE, 0, fail_at=TRAIN_SIZE + 5)  # in the second epoch
    fit = trainer(tmp_path / "out", callback, train=data)
    first = None
    try:
        fit.train()
    except RuntimeError:
        first = callback.experiment_id
        data.fail_at = None
        fit.train()  # a fresh training, inside the handler of the first one's error
    found = history(tracker, first)
    assert found["experiment"]["status"] == "failed"
    assert found["experiment"]["error"]["type"] == "RuntimeError"
    assert found["experiment"]["error"]["message"] == "bad record"
    assert [epoch["epoch"] for epoch in found["epochs"]] == [1]
    second = history(tracker, callback.experiment_id)
    assert callback.experiment_id != first and second["experiment"]["status"] == "completed"
    assert [epoch["epoch"] for epoch in second["epochs"]] == [1, 2, 3]


class Interrupted(Tokens):
    """Ctrl-C pressed while item number `at` is fetched."""

    def __init__(self, at: int) -> None:
        super().__init__(TRAIN_SIZE, 0)
        self.at: int | None = at

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if self.at is not None and self.fetched + 1 == self.at:
            self.at = None
            os.kill(os.getpid(), signal.SIGINT)
        return super().__getitem__(index)


def test_a_caught_ctrl_c_then_a_new_train_stops_the_first_experiment(tmp_path: Path) -> None:
    tracker = Tracker(f"sqlite:///{tmp_path / 'e.db'}")
    callback = EpochlogCallback(tracker=tracker)
    fit = trainer(tmp_path / "out", callback, train=Interrupted(at=TRAIN_SIZE + 5))
    with pytest.raises(KeyboardInterrupt):  # as a notebook shows it, and runs the next cell
        fit.train()
    first = callback.experiment_id
    fit.train()
    assert history(tracker, first)["experiment"]["status"] == "stopped"
    assert history(tracker, callback.experiment_id)["experiment"]["status"] == "completed"
    tracker.close()


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_retry_with_a_smaller_batch_stays_one_experiment(tracker: Tracker, tmp_path: Path) -> None:
    callback = EpochlogCallback(tracker=tracker)
    data = Tokens(TRAIN_SIZE, 0, fail_at=5, error="DefaultCPUAllocator: can't allocate memory: 1 TB", once=True)
    fit = trainer(tmp_path / "out", callback, train=data, auto_find_batch_size=True)
    fit.train()  # the Trainer catches the error and trains again from the start with 7 a batch
    found = history(tracker, callback.experiment_id)
    assert tracker.count_experiments() == 1 and found["experiment"]["status"] == "completed"
    assert [(epoch["epoch"], epoch["global_step"]) for epoch in found["epochs"]] == [(1, 5), (2, 10), (3, 15)]


@pytest.mark.parametrize("store", ["sqlite", "mongo-journal"], indirect=True)  # the tracker's store
def test_resuming_from_a_checkpoint_continues_the_experiment(tracker: Tracker, tmp_path: Path) -> None:
    callback = EpochlogCallback(tracker=tracker)
    data = Tokens(TRAIN_SIZE, 0, fail_at=2 * TRAIN_SIZE + 5)  # in the third epoch
    fit = trainer(tmp_path / "out", callback, train=data)
    with pytest.raises(RuntimeError, match="bad record"):
        fit.train()
    first = callback.experiment_id
    data.fail_at = None
    fit.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-4"))

    assert callback.experiment_id == first
    found = history(tracker, first)
    assert found["experiment"]["status"] == "completed"
    assert [epoch["epoch"] for epoch in found["epochs"]] == [1, 2, 3]  # epoch 2 logged again, once
    assert tracker.count_experiments() == 1
    assert found["experiment"]["metrics"]["last_epoch"] == 3
    # the Trainer saved checkpoint-8 again over the first one: both saves are registered, the last one verifies
    assert [c["global_step"] for c in found["checkpoints"]] == [4, 8, 8, 12]
    states = [check["state"] for check in sorted(tracker.verify_checkpoints(first), key=lambda c: c["checkpoint_id"])]
    assert states[0] == states[2] == states[3] == "ok"


def test_a_restored_callback_state_continues_the_experiment(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'e.db'}"
    first = EpochlogCallback(uri=uri, challenge=3)
    trainer(tmp_path / "out", first, num_train_epochs=2).train()
    # the Trainer rebuilds the callback from the arguments saved in the checkpoint, and replaces ours
    fit = trainer(tmp_path / "out", EpochlogCallback(uri=uri), restore_callback_states_from_checkpoint=True)
    fit.train(resume_from_checkpoint=True)
    [rebuilt] = [c for c in fit.callback_handler.callbacks if isinstance(c, EpochlogCallback)]
    assert rebuilt.experiment_id == first.experiment_id
    with Tracker(uri) as tracker:
        assert tracker.count_experiments() == 1
        found = history(tracker, first.experiment_id)
        assert found["experiment"]["status"] == "completed" and found["experiment"]["challenge"] == 3
        assert [epoch["epoch"] for epoch in found["epochs"]] == [1, 2, 3]


def test_a_callback_added_on_resuming_records_the_rest_of_the_training(tmp_path: Path) -> None:
    Trainer(model=tiny_model(), args=training_args(tmp_path / "out", num_train_epochs=2),
            train_dataset=Tokens(TRAIN_SIZE, 0), eval_dataset=Tokens(EVAL_SIZE, 1)).train()
    tracker = Tracker(f"sqlite:///{tmp_path / 'e.db'}")
    callback = EpochlogCallback(tracker=tracker)
    # the checkpoint has no state of this callback: the Trainer's own save would fail on the missing entry
    trainer(tmp_path / "out", callback).train(resume_from_checkpoint=True)
    found = history(tracker, callback.experiment_id)
    assert found["experiment"]["status"] == "completed"
    assert [epoch["epoch"] for epoch in found["epochs"]] == [3]
    assert [c["global_step"] for c in found["checkpoints"]] == [12]
    tracker.close()


# -- child processes: what only a real process shows (uncaught errors, signals, a restarted job) ----------

CHILD = textwrap.dedent("""
    import sys
    from tests.integrations.test_transformers import EpochlogCallback, Tokens, TRAIN_SIZE, trainer
    uri, output, mode = sys.argv[1:4]
    data = Tokens(TRAIN_SIZE, 0, fail_at=TRAIN_SIZE + 5) if mode == "fail" else \\
        Tokens(TRAIN_SIZE, 0, delay=0.5, delay_after=TRAIN_SIZE)
    trainer(output, EpochlogCallback(uri=uri, experiment_name="child", challenge=2), train=data,
            num_train_epochs=30).train()
""")


def start_child(uri: str, tmp_path: Path, mode: str) -> subprocess.Popen[bytes]:
    return children.start_child(CHILD, tmp_path, uri, str(tmp_path / "out"), mode)


def child_experiment(tracker: Tracker, child: subprocess.Popen[bytes], tmp_path: Path) -> str:
    """The child's experiment once it has logged its first epoch and checkpoint."""
    return children.child_experiment(tracker, child, tmp_path, epochs=1, checkpoints=1)







def backends(*names: str) -> pytest.MarkDecorator:
    """Each child costs seconds of CPU importing torch and transformers: a few backends, not all three."""
    return pytest.mark.parametrize("backend_uri", names, indirect=True)


def resumed_in_a_new_process(tracker: Tracker, experiment_id: str, tmp_path: Path) -> None:
    """The job restarted: a new Trainer and callback resume from the last checkpoint (of epoch 1)."""
    callback = EpochlogCallback(tracker=tracker)
    trainer(tmp_path / "out", callback).train(resume_from_checkpoint=True)
    assert callback.experiment_id == experiment_id
    found = history(tracker, experiment_id)
    assert found["experiment"]["status"] == "completed" and found["experiment"]["challenge"] == 2
    assert [epoch["epoch"] for epoch in found["epochs"]] == [1, 2, 3]
    assert [c["global_step"] for c in found["checkpoints"]] == [4, 8, 12]
    assert tracker.count_experiments() == 1


@backends("mongo-journal")  # the run ends in sys.excepthook, just before the process exits: the journal drains
def test_an_uncaught_failure_fails_the_experiment_and_a_new_process_resumes_it(backend_uri: str,
                                                                               tmp_path: Path) -> None:
    child = start_child(backend_uri, tmp_path, "fail")
    assert wait(child, tmp_path) == 1
    with Tracker(backend_uri) as tracker:
        [run] = tracker.search_experiments({"experiment_name": "child"})
        assert run["status"] == "failed", (tmp_path / "child.log").read_text()
        assert (run["error"]["type"], run["error"]["message"]) == ("RuntimeError", "bad record")
        assert "__getitem__" in run["error"]["traceback"]
        assert [epoch["epoch"] for epoch in tracker.get_experiment_history(run["_id"])["epochs"]] == [1]
        resumed_in_a_new_process(tracker, str(run["_id"]), tmp_path)


@backends("sqlite")
def test_ctrl_c_stops_the_experiment(backend_uri: str, tmp_path: Path) -> None:
    child = start_child(backend_uri, tmp_path, "slow")
    with Tracker(backend_uri) as tracker:
        experiment_id = child_experiment(tracker, child, tmp_path)
        child.send_signal(signal.SIGINT)
        wait(child, tmp_path)
        tracker.sync()
        run = tracker.get_experiment(experiment_id)
        assert run["status"] == "stopped", (tmp_path / "child.log").read_text()
        assert run["error"]["type"] == "KeyboardInterrupt" and run["end_time"] is not None


@backends("sqlite")
def test_sigterm_stops_the_experiment_and_a_new_process_resumes_it(backend_uri: str, tmp_path: Path) -> None:
    child = start_child(backend_uri, tmp_path, "slow")
    with Tracker(backend_uri) as tracker:
        experiment_id = child_experiment(tracker, child, tmp_path)
        child.send_signal(signal.SIGTERM)
        assert wait(child, tmp_path) == 128 + signal.SIGTERM
        tracker.sync()
        run = tracker.get_experiment(experiment_id)
        assert run["status"] == "stopped" and run["error"]["type"] == "Terminated"
        resumed_in_a_new_process(tracker, experiment_id, tmp_path)
