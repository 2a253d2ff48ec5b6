"""Workloads that need processes of their own: W5 (concurrent writers), M (a fresh process's RSS), T and TI
(training loops, without and with epochlog)."""

from __future__ import annotations

import gc
import multiprocessing
import time
import traceback
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import data
from .adapters import AdapterSpec, open_adapter
from .environment import rss_bytes
from .measure import Result, percentiles_ms
from .scale import SERIES_METRICS, Scale

WORKER_TIMEOUT = 3600.0
RSS_SAMPLE_EVERY = 10_000  # steps


def spawn(target: Any, args_list: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Run `target(*args, queue)` in one spawned process per args; return what each put on the queue."""
    context = multiprocessing.get_context("spawn")  # no inherited connections, threads or sqlite handles
    queue = context.Queue()
    processes = [context.Process(target=target, args=(*args, queue), daemon=True) for args in args_list]
    for process in processes:
        process.start()
    answers = []
    deadline = time.monotonic() + WORKER_TIMEOUT
    for _ in processes:
        answers.append(queue.get(timeout=max(1.0, deadline - time.monotonic())))
    for process in processes:
        process.join(timeout=60)
    failed = [answer["error"] for answer in answers if "error" in answer]
    if failed:
        raise RuntimeError("a worker failed:\n" + failed[0])
    return answers


# -- W5 ------------------------------------------------------------------------------------------------

def _w5_worker(spec: AdapterSpec, scale: Scale, index: int, barrier: Any, queue: Any) -> None:
    from .workloads import seed_loop

    try:
        adapter = open_adapter(spec)
        runs = list(data.runs(scale.runs, scale.epochs, prefix=f"w5-{index}", start=index * scale.runs))
        barrier.wait()
        start = time.monotonic()
        latencies, loop = seed_loop(adapter, runs)
        adapter.drain()
        adapter.close()
        queue.put({"start": start, "loop_end": start + loop, "end": time.monotonic(), "epochs": len(latencies),
                   "p50": percentiles_ms(latencies)["p50"]})
    except BaseException:
        queue.put({"error": traceback.format_exc()})


def w5(spec: AdapterSpec, scale: Scale) -> Iterator[Result]:
    open_adapter(spec).close()  # create the schema, experiment and indexes once, before the race
    barrier = multiprocessing.get_context("spawn").Barrier(scale.processes)
    answers = spawn(_w5_worker, [(spec, scale, index, barrier) for index in range(scale.processes)])
    start = min(answer["start"] for answer in answers)
    end = max(answer["end"] for answer in answers)
    epochs = sum(answer["epochs"] for answer in answers)
    loop_end = max(answer["loop_end"] for answer in answers)
    yield Result("W5", "epochs_per_s", epochs / (end - start), "epochs/s",
                 {"processes": scale.processes, "epochs": epochs, "seconds": end - start,
                  "loop_epochs_per_s": epochs / (loop_end - start),
                  "log_epoch_p50_ms_per_process": [answer["p50"] for answer in answers]})


# -- M -------------------------------------------------------------------------------------------------

def _memory_worker(spec: AdapterSpec, scale: Scale, queue: Any) -> None:
    try:
        adapter = open_adapter(spec)
        handle = adapter.create_run(data.make_run(0, 0, prefix="m"))
        names = [f"metric_{index}" for index in range(SERIES_METRICS)]
        steps = scale.memory_points // SERIES_METRICS
        rng = np.random.default_rng(0)
        warmup = min(steps // 10, 10_000)

        def log(first: int, count: int) -> None:
            values = rng.random((count, SERIES_METRICS)).tolist()  # bounded: one chunk at a time
            for offset, row in enumerate(values):
                adapter.log_step(handle, dict(zip(names, row)), first + offset)

        log(0, warmup)  # untimed, unmeasured: caches, statements and buffers reach their steady size
        adapter.drain()
        gc.collect()
        baseline = peak = rss_bytes()
        start = time.perf_counter()
        for first in range(warmup, warmup + steps, RSS_SAMPLE_EVERY):
            log(first, min(RSS_SAMPLE_EVERY, warmup + steps - first))
            peak = max(peak, rss_bytes())
        loop = time.perf_counter() - start
        peak = max(peak, rss_bytes())
        # Not drained: a journal ships in the background at the server's pace; M is about the process.
        adapter.close()
        queue.put({"baseline": baseline, "peak": peak, "points": steps * SERIES_METRICS, "loop_s": loop})
    except BaseException:
        queue.put({"error": traceback.format_exc()})


def memory(spec: AdapterSpec, scale: Scale) -> Iterator[Result]:
    (answer,) = spawn(_memory_worker, [(spec, scale)])
    growth = (answer["peak"] - answer["baseline"]) / 2**20
    extra = {"points": answer["points"], "baseline_mb": answer["baseline"] / 2**20, "metrics": SERIES_METRICS,
             "api": "log_metrics, one call per step"}
    yield Result("M", "rss_growth", growth, "MB", extra)
    yield Result("M", "points_per_s", answer["points"] / answer["loop_s"], "points/s", extra)


# -- T -------------------------------------------------------------------------------------------------

def training(spec: AdapterSpec, scale: Scale) -> Iterator[Result]:
    from . import training_loop

    (answer,) = spawn(training_loop.worker, [(spec, scale.training_steps, training_loop.framework())])
    yield Result("T", "overhead_pct", answer["overhead_pct"], "%", answer)


# -- TI ------------------------------------------------------------------------------------------------

TI_METRICS = (("step_hooks_pct", "%"), ("step_hooks_us_per_step", "µs"), ("other_hooks_ms_per_fit", "ms"),
              ("hooks_pct", "%"), ("hooks_us_per_step", "µs"), ("fit_overhead_pct", "%"))


def integrations(spec: AdapterSpec, scale: Scale, frameworks: Sequence[str], peers: tuple[str, ...]) -> Iterator[Result]:
    """TI: one fresh process per framework (its imports and global state its own); a framework that fails is
    reported after the others have run."""
    from . import integration_loop

    failed = []
    for framework in frameworks:
        try:
            (answer,) = spawn(integration_loop.worker, [(spec, framework, scale.integration_windows,
                                                         scale.integration_epochs, scale.integration_repeats,
                                                         peers)])
        except RuntimeError as error:
            failed.append(f"{framework}: {error}")
            continue
        yield Result("TI", f"{framework}_fit_ms_per_step", answer["fit_ms_per_step"], "ms", answer)
        for kind in ("epochlog", *peers):
            for metric, unit in TI_METRICS:
                yield Result("TI", f"{framework}_{kind}_{metric}", answer[kind][metric], unit,
                             {"framework": framework, "integration": kind, **answer[kind]})
    if failed:
        raise RuntimeError("\n".join(failed))
