"""Real MLflow stores and TensorBoard logs, written by those libraries, for the importers to read."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def mlflow_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An MLflow SQLite backend store: experiment "eegnex-sweep" with a finished, a failed and a killed run, and
    experiment "other" with one run that logged no epoch metric."""
    import mlflow
    from mlflow.tracking import MlflowClient

    for noisy in ("mlflow", "alembic"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    sweep = client.create_experiment("eegnex-sweep")
    for lr, status in ((0.01, "FINISHED"), (0.001, "FAILED"), (0.1, "KILLED")):
        run = client.create_run(sweep, run_name=f"lr{lr}", tags={"owner": "ana", "mlflow.source.type": "LOCAL"})
        run_id = run.info.run_id
        for key, value in {"lr": lr, "optimizer.name": "adam", "optimizer": "nested-clash", "batch_size": 32,
                           "amp": "True", "note": "keep as text"}.items():
            client.log_param(run_id, key, value)
        for epoch in range(3):
            client.log_metric(run_id, "epoch", epoch, step=epoch * 10)
            client.log_metric(run_id, "val_loss", 1.0 / (epoch + 1) + lr, step=epoch * 10)
            for step in range(epoch * 10, epoch * 10 + 10):
                client.log_metric(run_id, "train/loss", 2.0 - 0.01 * step, step=step)
        client.set_terminated(run_id, status)
    other = client.create_experiment("other")
    run_id = client.create_run(other, run_name="plain").info.run_id
    for step in range(4):
        client.log_metric(run_id, "val_loss", 0.5 - step / 10, step=step)
    client.set_terminated(run_id, "FINISHED")
    del mlflow
    return uri


@pytest.fixture(scope="session")
def tensorboard_logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two Lightning-like runs written by torch's SummaryWriter (scalars, an epoch scalar, hparams, a
    histogram) and one written by TensorBoard's own writer (TF 2 style tensor scalars)."""
    from tensorboard.summary import Writer
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams

    root = tmp_path_factory.mktemp("tensorboard")
    for lr in (0.1, 0.01):
        writer = SummaryWriter(str(root / f"lr{lr}" / "version_0"))
        for epoch in range(3):
            writer.add_scalar("epoch", epoch, epoch * 5)
            writer.add_scalar("val_loss", 1 / (epoch + 1) + lr, epoch * 5)
            for step in range(epoch * 5, epoch * 5 + 5):
                writer.add_scalar("train/loss", 2 - 0.1 * step, step)
        writer.add_histogram("weights", np.array([1.0, 2.0, 3.0]), 0)
        for summary in hparams({"lr": lr, "batch_size": 32, "optimizer": "adam"}, {"hp/metric": 0}):
            writer.file_writer.add_summary(summary)
        writer.close()
    tensors = Writer(str(root / "tf2"))
    for step in range(6):
        tensors.add_scalar("loss", 1.0 / (step + 1), step)
    tensors.close()
    return root
