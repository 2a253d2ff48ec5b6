"""A simulated EEG decoding study, for trying epochlog (`epochlog demo`) and for tests of what reads it.

Everything but ids and timestamps follows from `seed`: two challenges, four braindecode model families,
learning curves with noise, plateaus and learning-rate schedules, a few failed runs, one run that diverges
to NaN, step-level batch losses, checkpoints (small real files, so checksums exist), subjects with
per-subject validation results, and one run still `running`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .documents import utcnow
from .tracker import Tracker

#: family -> (parameters, how good it gets: lower is better, how fast it learns)
FAMILIES: dict[str, tuple[int, float, float]] = {
    "EEGNeX": (2_457_821, 0.00, 1.00),
    "EEGNetv4": (21_874, 0.03, 1.25),
    "ShallowFBCSPNet": (364_642, 0.05, 1.40),
    "Deep4Net": (691_842, 0.02, 0.80),
}
OPTIMIZERS = ("AdamW", "Adam", "Adamax", "SGD")
SCHEDULES = ("cosine", "step", "plateau", "constant")
RELEASE_SETS = (["R1", "R2"], ["R1", "R2", "R3"], ["R1", "R2", "R3", "R4"], ["R5"])
SITES = ("RU", "CBIC", "CUNY", "SI")
STEPS_PER_EPOCH = 120
SUBJECTS = 48
_ID_CHARS = np.array(list("ABCDEFGHJKLMNPRTUVWXYZ0123456789"))


def run_demo(tracker: Tracker, *, seed: int = 0, experiments: int = 24, epochs: int = 30,
             progress: Callable[[int, int], None] | None = None,
             checkpoint_dir: str | Path | None = None) -> list[str]:
    """Simulate a study into `tracker` and return the new experiments' ids, oldest first.

    Checkpoint files go to `checkpoint_dir`, by default `checkpoints/` next to an embedded database
    (`./checkpoints` for other stores).
    """
    if experiments < 1 or epochs < 2:
        raise ValueError("a demo needs at least one experiment and two epochs")
    rng = np.random.RandomState(seed)
    directory = Path(checkpoint_dir) if checkpoint_dir is not None else _checkpoint_dir(tracker)
    subjects = _subjects(rng)
    tracker.upsert_subjects(subjects)
    roles = _roles(experiments)
    now = utcnow()
    # Runs start one after another over the last weeks; the live one started a little while ago.
    starts = [now - dt.timedelta(days=21) + dt.timedelta(days=21 * index / experiments)
              for index in range(experiments)]
    ids = []
    for index in range(experiments):
        ids.append(_experiment(tracker, rng, index, roles.get(index, "completed"), epochs, starts[index],
                               subjects, directory))
        if progress is not None:
            progress(index + 1, experiments)
    return ids


def _roles(experiments: int) -> dict[int, str]:
    """Which runs fail, diverge, stop or are still running: fixed positions, so small demos have them too."""
    roles: dict[int, str] = {experiments - 1: "running"}
    wanted = [(experiments // 3, "diverged"), (experiments // 2, "failed-oom"),
              (3 * experiments // 4, "failed-shape"), (experiments // 5, "stopped")]
    for index, role in wanted:
        if index not in roles and index < experiments - 1 and (role != "stopped" or experiments >= 10):
            roles[index] = role
    return roles


def _experiment(tracker: Tracker, rng: np.random.RandomState, index: int, role: str, epochs: int,
                start: dt.datetime, subjects: list[dict[str, Any]], directory: Path) -> str:
    family = list(FAMILIES)[rng.randint(len(FAMILIES))]
    parameters, handicap, speed = FAMILIES[family]
    challenge = 1 + index % 2
    releases = list(RELEASE_SETS[rng.randint(len(RELEASE_SETS))])
    config: dict[str, Any] = {
        "batch_size": int(rng.choice([16, 32, 64, 128])),
        "learning_rate": float(round(10 ** rng.uniform(-4, -2.5), 6)),
        "optimizer": str(OPTIMIZERS[rng.randint(len(OPTIMIZERS))]),
        "scheduler": str(SCHEDULES[rng.randint(len(SCHEDULES))]),
        "device": "cpu" if rng.rand() < 0.25 else "cuda",
        "dropout": float(rng.choice([0.25, 0.4, 0.5])),
        "weight_decay": float(rng.choice([0.0, 1e-5, 1e-4, 1e-3])),
        "seed": int(rng.randint(10_000)),
        "n_epochs": epochs,
        "window_seconds": 2.0,
        "sfreq": 100,
    }
    if role == "diverged":
        config.update(learning_rate=0.05, optimizer="SGD", scheduler="constant")
    train_windows = int(rng.randint(40_000, 60_000)) * len(releases)
    tags = [family.lower(), f"challenge{challenge}", config["device"],
            str(["baseline", "sweep", "ablation"][rng.randint(3)])]
    eid = tracker.create_experiment(
        f"{family.lower()}_{''.join(releases).lower()}_c{challenge}_{index:02d}", challenge,
        model={"name": family, "parameters": parameters, "n_chans": 129, "n_outputs": 1},
        config=config,
        dataset={"releases": releases, "train_windows": train_windows, "val_windows": train_windows // 5,
                 "n_subjects": sum(subject["release"] in releases for subject in subjects)},
        tags=tags, notes="" if rng.rand() < 0.7 else "lr sweep around the baseline",
        start_time=start, heartbeat=start)
    curves = _curves(rng, config, challenge, handicap, speed, epochs, diverge=role == "diverged")
    logged = {"failed-oom": 3, "failed-shape": 1, "stopped": epochs * 2 // 3,
              "running": max(2, epochs // 2)}.get(role, epochs)
    logged = min(logged, epochs)
    durations = 60.0 + parameters / 20_000 + rng.gamma(4.0, 8.0, size=epochs)
    if config["device"] == "cpu":
        durations *= 4
    if role == "running":
        start = utcnow() - dt.timedelta(seconds=float(durations[:logged].sum()) + 30)
        tracker.update_experiment_status(eid, "running", start_time=start)
    ends = [start + dt.timedelta(seconds=float(seconds)) for seconds in np.cumsum(durations)]

    tracker.log_epochs(eid, [  # backdated, in one write
        {"epoch": epoch, "metrics": {name: float(values[epoch]) for name, values in curves.items()},
         "timing": {"duration_seconds": round(float(durations[epoch]), 2)}, "timestamp": ends[epoch]}
        for epoch in range(logged)])

    if rng.rand() < 0.5 or role == "running":
        tracker.log_metric_series(eid, "batch_loss", *_batch_loss(rng, curves["train_loss"][:logged]))

    val = curves["val_loss"][:logged]
    finite = np.where(np.isfinite(val))[0]
    best_epoch = int(finite[np.argmin(val[finite])]) if len(finite) else None
    _checkpoints(tracker, rng, eid, val, directory)
    summary: dict[str, Any] = {"total_epochs": logged, "final_train_loss": float(curves["train_loss"][logged - 1])}
    if best_epoch is not None:
        summary.update(best_val_loss=float(val[best_epoch]), best_epoch=best_epoch,
                       best_val_nrmse=float(curves["val_nrmse"][best_epoch]))
        if "val_accuracy" in curves:
            summary["best_val_accuracy"] = float(curves["val_accuracy"][best_epoch])
    if role == "diverged":  # the naive trainer tracked the last values: NaN, so the run never ranks
        summary.pop("best_epoch", None)
        for name in ("best_val_loss", "best_val_nrmse", "best_val_accuracy"):
            if name in summary:
                summary[name] = math.nan
    end = ends[logged - 1]

    if role == "running":
        tracker.update_experiment_status(eid, "running", metrics=summary)
    elif role.startswith("failed"):
        error = {"failed-oom": {"type": "torch.cuda.OutOfMemoryError",
                                "message": "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.77 GiB "
                                           "total capacity; 13.10 GiB already allocated)"},
                 "failed-shape": {"type": "ValueError",
                                  "message": f"Expected input batch_size ({config['batch_size']}) to match "
                                             f"target batch_size ({config['batch_size'] - 1})."}}[role]
        error["traceback"] = ('  File "train.py", line 212, in train_one_epoch\n    loss = criterion(model(x), y)\n')
        tracker.update_experiment_status(eid, "failed", metrics=summary, error=error, end_time=end, heartbeat=end)
    elif role == "stopped":
        tracker.update_experiment_status(eid, "stopped", metrics=summary, end_time=end, heartbeat=end,
                                         error={"type": "KeyboardInterrupt", "message": ""})
    else:
        tracker.update_experiment_status(eid, "completed", metrics=summary, end_time=end, heartbeat=end,
                                         subject_metrics=_subject_metrics(rng, subjects, config, val, best_epoch))
    return eid


def _curves(rng: np.random.RandomState, config: dict[str, Any], challenge: int, handicap: float, speed: float,
            epochs: int, *, diverge: bool) -> dict[str, np.ndarray]:
    """Per-epoch train/val loss, learning rate and the challenge's score, with noise and plateaus."""
    base_lr = config["learning_rate"]
    lr_penalty = 0.04 * abs(math.log10(base_lr / 1e-3))
    floor = 0.86 + 0.06 * (challenge - 1) + handicap + lr_penalty + rng.normal(0, 0.015)
    start_loss = 1.25 + rng.normal(0, 0.05)
    plateau_at, plateau_len = rng.randint(3, max(4, epochs // 2)), rng.randint(2, 6)
    overfit = (0.5 - config["dropout"]) * 0.004 + (0.002 if config["weight_decay"] == 0 else 0.0)
    lr, progress, stuck, best = base_lr, 0.0, 0, math.inf
    train, val, rates = np.empty(epochs), np.empty(epochs), np.empty(epochs)
    for epoch in range(epochs):
        schedule = config["scheduler"]
        if schedule == "cosine":
            lr = base_lr * 0.5 * (1 + math.cos(math.pi * epoch / epochs))
        elif schedule == "step":
            lr = base_lr * 0.1 ** (epoch // 10)
        elif schedule == "plateau" and stuck >= 4:
            lr, stuck = lr * 0.5, 0
        if epoch < 3:
            lr_now = lr * (epoch + 1) / 3  # warm-up
        else:
            lr_now = lr
        rates[epoch] = lr_now
        rate = speed * 0.25 * min(lr_now / 1e-3, 3.0) ** 0.5
        if plateau_at <= epoch < plateau_at + plateau_len:
            rate *= 0.05
        progress += rate
        train[epoch] = floor - 0.08 + (start_loss - floor) * math.exp(-progress) + rng.normal(0, 0.008)
        val[epoch] = (floor + (start_loss - floor) * math.exp(-0.85 * progress)
                      + overfit * max(0, epoch - epochs // 2) + rng.normal(0, 0.012))
        if val[epoch] < best - 1e-3:
            best, stuck = val[epoch], 0
        else:
            stuck += 1
    if diverge:
        blow_up = max(1, epochs // 3)
        growth = np.exp(np.arange(epochs - blow_up) * 1.6)
        train[blow_up:] *= growth
        val[blow_up:] *= growth
        gone = min(epochs - 1, blow_up + 4)
        train[gone:], val[gone:] = math.nan, math.nan
    curves = {"train_loss": train, "val_loss": val, "learning_rate": rates,
              "val_nrmse": np.sqrt(np.abs(val)) * 1.02}
    if challenge == 1:
        curves["val_accuracy"] = np.clip(0.5 + 0.9 * (start_loss - val) / start_loss + rng.normal(0, 0.01, epochs),
                                         0.0, 1.0)
    return curves


def _batch_loss(rng: np.random.RandomState, train_loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step-level losses around each epoch's train loss, noisier early on."""
    steps = np.arange(len(train_loss) * STEPS_PER_EPOCH, dtype=np.int64)
    level = np.repeat(train_loss, STEPS_PER_EPOCH)
    noise = rng.normal(0, 0.06, size=len(steps)) * (1 + 2 * np.exp(-steps / 400))
    return steps, level * (1 + noise)


def _checkpoints(tracker: Tracker, rng: np.random.RandomState, eid: str, val: np.ndarray, directory: Path) -> None:
    """A checkpoint file whenever validation loss improves (marked best) and every tenth epoch."""
    best = math.inf
    folder = directory / eid
    for epoch, loss in enumerate(val):
        improved = bool(np.isfinite(loss) and loss < best - 2e-3)
        if not improved and (epoch + 1) % 10:
            continue
        if improved:
            best = float(loss)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"epoch-{epoch:03d}.pt"
        path.write_bytes(rng.bytes(int(rng.randint(2_048, 8_192))))
        tracker.save_checkpoint_info(eid, epoch, {"val_loss": float(loss)}, {"path": str(path)}, is_best=improved)


def _subjects(rng: np.random.RandomState) -> list[dict[str, Any]]:
    subjects = []
    for index in range(SUBJECTS):
        release = f"R{1 + index % 5}"
        subjects.append({
            "subject_id": "sub-NDAR" + "".join(rng.choice(_ID_CHARS, 8)),
            "age": float(round(rng.uniform(5.0, 21.0), 1)),
            "sex": "F" if rng.rand() < 0.45 else "M",
            "release": release,
            "releases": [release],  # the indexed field (docs/DATABASE_DESIGN.md)
            "site": str(SITES[rng.randint(len(SITES))]),
            "handedness": "right" if rng.rand() < 0.88 else "left",
        })
    return subjects


def _subject_metrics(rng: np.random.RandomState, subjects: list[dict[str, Any]], config: dict[str, Any],
                     val: np.ndarray, best_epoch: int | None) -> dict[str, dict[str, Any]]:
    """Validation loss per held-out subject at the best epoch: spread around the run's val_loss."""
    if best_epoch is None:
        return {}
    chosen = rng.choice(len(subjects), size=12, replace=False)
    return {subjects[index]["subject_id"]: {
        "val_loss": float(val[best_epoch] * rng.lognormal(0, 0.15)),
        "n_windows": int(rng.randint(80, 400)),
    } for index in sorted(chosen)}


def _checkpoint_dir(tracker: Tracker) -> Path:
    path = getattr(tracker.store, "path", None)
    if isinstance(path, str) and path != ":memory:":
        return Path(path).resolve().parent / "checkpoints"
    return Path.cwd() / "checkpoints"


__all__ = ["run_demo"]
