"""TI: what epochlog's framework integrations cost a real training loop, next to MLflow's own integrations.

braindecode's EEGNeX (24 channels x 256 samples at 128 Hz, 2 classes; T's synthetic windows, labelled by their
alpha amplitude) is fitted for a few epochs on one CPU thread through each framework (`benchmarks/frameworks/`):
without an integration, with epochlog's, and with MLflow's on a SQLite tracking store, in the same process, on
the same data, from the same initial weights. Two measures of each integration:

- hooks: the seconds spent inside the integration's hooks, as % of the fit's wall time and per training step.
  The integration object's class is swapped for a subclass whose hook methods are timed (a callback's `on_*`,
  a Lightning logger's logging methods); time inside the hooks of the same call stack is counted once. It
  misses the integrations' background threads (epochlog's heartbeat and journal sender, MLflow's asynchronous
  logging queue), which the fit time includes;
- fit: the fits alternate (none, epochlog, mlflow, the order rotated each repeat) and the overhead is the median
  over repeats of (fit with / fit without) - 1. On a shared machine it is noise of several %, more than what
  is measured: the hooks are the number to read; the fit time shows nothing else is hidden.

Before the timed fits, one short fit per kind warms imports, caches and the stores' schemas; after each fit,
what an integration queued in the background is written out (untimed), so fits do not overlap.

    python -m benchmarks.integration_loop [--frameworks skorch,keras] [--windows 128] [--repeats 3] [--peers none]
"""

from __future__ import annotations

import argparse
import functools
import gc
import inspect
import json
import math
import os
import statistics
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import frameworks
from .frameworks import EPOCHLOG, FRAMEWORKS, MLFLOW, NONE, PEERS, Context, Settings, Windows
from .training_loop import synthetic_eeg

if TYPE_CHECKING:
    from epochlog import Tracker

BATCH = 8  # EEGNeX on 24 x 256 takes about 20 ms a window forward and backward on one thread
LEARNING_RATE = 1e-3
VALID_FRACTION = 4  # one validation window for every four training windows
MLFLOW_EXPERIMENT = "ti"
TORCH_THREADS = 1  # fixed: with two on a two-core machine shared with others, step times vary severalfold


class HookTimer:
    """Seconds spent inside the hooks of the objects attached, counted once per outermost hook call."""

    def __init__(self) -> None:
        self.by_hook: dict[str, list[float]] = {}  # hook name -> [calls, seconds]
        self._depth = 0

    def attach(self, target: Any, is_hook: Callable[[str], bool]) -> None:
        """Time `target`'s hook methods: its class becomes a subclass of the same name that times them."""
        cls = type(target)
        hooks = {name: self._timed(name, getattr(cls, name)) for name in dir(cls)
                 if is_hook(name) and inspect.isfunction(inspect.getattr_static(cls, name))}
        # the same name: the Trainer keys a callback's saved state by its class name
        target.__class__ = type(cls.__name__, (cls,), {**hooks, "__module__": cls.__module__,
                                                      "__qualname__": cls.__qualname__})

    def _timed(self, name: str, hook: Callable[..., Any]) -> Callable[..., Any]:
        clock = time.perf_counter

        @functools.wraps(hook)  # keeps Keras' `_is_default` mark: Keras skips a callback's default hooks
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._depth:
                return hook(*args, **kwargs)
            self._depth += 1
            start = clock()
            try:
                return hook(*args, **kwargs)
            finally:
                spent = self.by_hook.setdefault(f"{type(args[0]).__name__}.{name}", [0, 0.0])
                spent[0] += 1
                spent[1] += clock() - start
                self._depth -= 1

        return timed


@dataclass(frozen=True)
class Timing:
    seconds: float  # the fit's wall time
    by_hook: dict[str, list[float]]  # hook -> [calls, seconds]
    experiment_id: str | None  # what epochlog recorded the fit as


def synthetic_windows(count: int, seed: int = 0) -> Windows:
    """`count` training and `count // 4` validation windows; class 1: alpha amplitude above the median."""
    x, target = synthetic_eeg(np.random.default_rng(seed), count + count // VALID_FRACTION)
    y = (target[:, 0] > np.median(target)).astype(np.int64)
    return Windows(x[:count], y[:count], x[count:], y[count:])


def measure(framework: str, context: Context, settings: Settings, windows: Windows, repeats: int,
            peers: tuple[str, ...] = PEERS) -> dict[str, Any]:
    """Fit `repeats` times per kind, alternating; the hooks' share and the fit overhead of each integration."""
    kinds = (NONE, EPOCHLOG, *peers)
    warm = Windows(windows.x_train[:2 * settings.batch], windows.y_train[:2 * settings.batch],
                   windows.x_valid[:settings.batch], windows.y_valid[:settings.batch])
    for kind in kinds:
        _fit(framework, warm, replace(settings, epochs=1), kind, context, "warm-up")
    fits: dict[str, list[Timing]] = {kind: [] for kind in kinds}
    for repeat in range(repeats):
        shift = repeat % len(kinds)
        for kind in kinds[shift:] + kinds[:shift]:
            fits[kind].append(_fit(framework, windows, settings, kind, context, str(repeat)))
    steps = settings.epochs * math.ceil(len(windows.x_train) / settings.batch)
    baseline = [timing.seconds for timing in fits[NONE]]
    answer: dict[str, Any] = {
        "framework": framework, "repeats": repeats, "epochs": settings.epochs, "batch": settings.batch,
        "train_windows": len(windows.x_train), "valid_windows": len(windows.x_valid), "steps_per_fit": steps,
        "versions": _versions(framework, peers), "torch_threads": _torch_threads(), "fit_ms_per_step": statistics.median(baseline) / steps * 1000,
        "fit_seconds": {kind: [timing.seconds for timing in fits[kind]] for kind in kinds}}
    for kind in kinds[1:]:
        answer[kind] = _integration_cost(fits[kind], baseline, steps)
    answer[EPOCHLOG]["recorded"] = _recorded_by_epochlog(context.tracker, fits[EPOCHLOG][-1].experiment_id)
    if MLFLOW in peers:
        answer[MLFLOW]["recorded"] = _recorded_by_mlflow(context.mlflow_uri)
    return answer


def _integration_cost(timings: list[Timing], baseline: list[float], steps: int) -> dict[str, Any]:
    """The hooks' share of the fits, per step and per fit, and the fit overhead against the same repeat's fit
    without an integration. A hook called at least once per training step is a step hook, and its time per
    step against the step's (the fit's without an integration, per step) does not depend on the fit's length;
    the others (the fit's start and end, the epochs') are counted per fit."""
    by_hook: dict[str, list[float]] = {}
    for timing in timings:
        for name, (calls, seconds) in timing.by_hook.items():
            total = by_hook.setdefault(name, [0, 0.0])
            total[0] += calls
            total[1] += seconds
    fits = len(timings)
    step_hooks = {name for name, (calls, _) in by_hook.items() if calls >= steps * fits}
    hooks = sum(seconds for _, seconds in by_hook.values())
    in_steps = sum(by_hook[name][1] for name in step_hooks)
    step_seconds = statistics.median(baseline) / steps
    return {
        "hooks_pct": hooks / sum(timing.seconds for timing in timings) * 100,
        "hooks_us_per_step": hooks / (steps * fits) * 1e6,
        "step_hooks_us_per_step": in_steps / (steps * fits) * 1e6,
        "step_hooks_pct": in_steps / (steps * fits) / step_seconds * 100,
        "other_hooks_ms_per_fit": (hooks - in_steps) / fits * 1000,
        "fit_overhead_pct": (statistics.median(timing.seconds / without
                                               for timing, without in zip(timings, baseline)) - 1) * 100,
        "by_hook": {name: {"calls_per_fit": calls / fits, "us_per_call": seconds / calls * 1e6}
                    for name, (calls, seconds) in sorted(by_hook.items())}}


def _fit(framework: str, windows: Windows, settings: Settings, kind: str, context: Context, label: str) -> Timing:
    context = replace(context, experiment_name=f"ti-{framework}-{kind}-{label}")
    prepared = frameworks.prepare(framework, windows, settings, kind, context)
    timer = HookTimer()
    for target, is_hook in prepared.timed:
        timer.attach(target, is_hook)
    gc.collect()
    start = time.perf_counter()
    prepared.fit()
    seconds = time.perf_counter() - start
    experiment_id = None
    if kind == EPOCHLOG:
        assert context.tracker is not None
        experiment_id = prepared.timed[0][0].experiment_id
        context.tracker.sync()
    elif kind == MLFLOW:
        import mlflow

        mlflow.flush_async_logging()
    return Timing(seconds, timer.by_hook, experiment_id)


def _recorded_by_epochlog(tracker: Tracker | None, experiment_id: str | None) -> dict[str, Any]:
    """What the last epochlog fit left in the store: its status, epochs, step series and their lengths."""
    assert tracker is not None and experiment_id is not None
    history = tracker.get_experiment_history(experiment_id)
    series = {name: len(tracker.get_metric_series(experiment_id, name).steps)
              for name in tracker.get_metric_names(experiment_id) if not name.startswith("system/")}
    return {"status": history["experiment"]["status"], "epochs": len(history["epochs"]),
            "epoch_keys": sorted(history["epochs"][-1]["metrics"]) if history["epochs"] else [],
            "config_keys": len(history["experiment"].get("config", {})), "series": series}


def _recorded_by_mlflow(uri: str | None) -> dict[str, Any]:
    """What the last MLflow fit left: its status, params, and each metric's number of points."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(MLFLOW_EXPERIMENT)
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)
    return {"status": run.info.status, "params": len(run.data.params),
            "metrics": {key: len(client.get_metric_history(run.info.run_id, key)) for key in run.data.metrics}}


def _versions(framework: str, peers: tuple[str, ...]) -> dict[str, str]:
    from importlib.metadata import version

    packages = ["torch", "braindecode", framework, *peers]
    return {package: version(package) for package in packages}


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def configure(workdir: Path) -> str | None:
    """The process's settings for TI, before any framework is imported; MLflow's tracking URI, if installed."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    # known warnings of the installed versions, about the model and the frameworks, not about the integrations
    warnings.filterwarnings("ignore", message="Montage name 'standard_1020' is deprecated")
    warnings.filterwarnings("ignore", message="Using padding='same' with even kernel lengths")
    warnings.filterwarnings("ignore", message=".*isinstance.treespec, LeafSpec.")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import torch

    torch.set_num_threads(TORCH_THREADS)
    try:
        import mlflow
    except ImportError:
        return None
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no network calls in a benchmark
    os.environ.setdefault("DO_NOT_TRACK", "true")
    import logging

    for noisy in ("mlflow", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    uri = f"sqlite:///{workdir / 'mlflow-ti.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = uri  # transformers' MLflowCallback reads it
    mlflow.set_tracking_uri(uri)
    if mlflow.get_experiment_by_name(MLFLOW_EXPERIMENT) is None:
        mlflow.create_experiment(MLFLOW_EXPERIMENT, artifact_location=(workdir / "mlflow-artifacts").as_uri())
    mlflow.set_experiment(MLFLOW_EXPERIMENT)
    return uri


def run(tracker: Tracker, framework: str, workdir: Path, windows: int, epochs: int, repeats: int,
        peers: tuple[str, ...]) -> dict[str, Any]:
    uri = configure(workdir)
    if peers and uri is None:
        raise RuntimeError("the MLflow peer needs mlflow (the `bench` extra); --peers none leaves it out")
    settings = Settings(BATCH, epochs, LEARNING_RATE, str(workdir))
    context = Context(tracker, uri, "")
    return measure(framework, context, settings, synthetic_windows(windows), repeats, peers)


def worker(spec: Any, framework: str, windows: int, epochs: int, repeats: int, peers: tuple[str, ...],
           queue: Any) -> None:
    """T-style worker: a fresh process per framework, on the adapter's own tracker."""
    from .adapters import open_adapter

    try:
        adapter = open_adapter(spec)
        workdir = Path(spec.workdir) / f"ti-{framework}"
        workdir.mkdir(parents=True, exist_ok=True)
        queue.put(run(adapter.tracker, framework, workdir, windows, epochs, repeats, peers))  # type: ignore[attr-defined]
        adapter.close()
    except BaseException:
        queue.put({"error": traceback.format_exc()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", help="a store URI (default: a temporary embedded store)")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--windows", type=int, default=128, help="training windows (and a quarter as many to validate)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peers", default=",".join(PEERS), help="mlflow, or none")
    args = parser.parse_args()
    peers = tuple(peer for peer in args.peers.split(",") if peer in PEERS)
    with tempfile.TemporaryDirectory() as directory:
        from epochlog import Tracker

        with Tracker(args.uri or f"sqlite:///{Path(directory) / 'training.db'}") as tracker:
            for framework in args.frameworks.split(","):
                answer = run(tracker, framework, Path(directory), args.windows, args.epochs, args.repeats, peers)
                print(json.dumps(answer, indent=2), flush=True)


if __name__ == "__main__":
    main()
