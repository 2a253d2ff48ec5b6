"""System metrics while a run is open: sampled in the run's background thread, stored as `system/...` step
series on every backend, summarised as the experiment's `system` at the end; a metric that cannot be read is
left out, and turning the group off records nothing."""

from __future__ import annotations

import logging
import time

import numpy as np
import psutil
import pytest

from epochlog import Tracker
from epochlog.context import system_metrics
from epochlog.context.gpus import cuda, nvml
from epochlog.context.system_metrics import MB, SystemSampler

HOST = {"system/cpu_percent", "system/rss_mb", "system/memory_percent"}


def busy(seconds: float, hold: list[np.ndarray]) -> None:
    """Work as a training step does: compute, and hold 64 MB more memory than before."""
    hold.append(np.ones(8 * MB, dtype=np.float64))
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        np.linalg.svd(np.random.default_rng(0).random((120, 120)))


def system_series(tracker: Tracker, run_id: str) -> dict[str, tuple[list[int], list[float]]]:
    found = {}
    for name in tracker.get_metric_names(run_id):
        if name.startswith("system/"):
            series = tracker.get_metric_series(run_id, name)
            found[name] = (series.steps.tolist(), series.values.tolist())
    return found


def test_an_open_run_records_its_process_and_machine_and_their_summary(tracker: Tracker) -> None:
    tracker.system_interval = 0.05
    held: list[np.ndarray] = []
    with tracker.start_run("sampled", 1, capture={"git": False, "packages": False}) as run:
        busy(0.6, held)
    series = system_series(tracker, run.id)
    assert HOST <= series.keys()
    for steps, values in series.values():
        assert len(steps) >= 3 and steps == sorted(set(steps))  # a step of its own per sample, increasing
        assert all(np.isfinite(values))
    # the process holds the 64 MB it allocated, and the samples say so
    assert max(series["system/rss_mb"][1]) >= 64
    assert max(series["system/rss_mb"][1]) <= psutil.Process().memory_info().rss / MB * 1.5
    assert max(series["system/cpu_percent"][1]) > 10  # it was computing
    assert all(0 < value <= 100 for value in series["system/memory_percent"][1])
    summary = tracker.get_experiment_history(run.id)["experiment"]["system"]
    for name, (_, values) in series.items():
        leaf = summary[name.removeprefix("system/")]
        assert leaf["max"] == max(values) and leaf["mean"] == pytest.approx(sum(values) / len(values))


def test_turning_the_group_off_or_the_interval_to_zero_records_nothing(tracker: Tracker) -> None:
    tracker.system_interval = 0.02
    with tracker.start_run("off", 1, capture={"system_metrics": False}) as run:
        busy(0.2, [])
    tracker.system_interval = 0
    with tracker.start_run("zero", 1, capture=["python"]) as other:
        busy(0.2, [])
    for run_id in (run.id, other.id):
        assert system_series(tracker, run_id) == {}
        assert "system" not in tracker.get_experiment_history(run_id)["experiment"]


def test_a_resumed_run_samples_after_the_steps_it_already_has(tracker: Tracker) -> None:
    tracker.system_interval = 0.02
    with tracker.start_run("resumed", 1, capture=["system_metrics"]) as run:
        busy(0.15, [])
    before = system_series(tracker, run.id)["system/rss_mb"][0]
    with tracker.resume_run(run.id):
        busy(0.15, [])
    after = system_series(tracker, run.id)["system/rss_mb"][0]
    assert after[:len(before)] == before and len(after) > len(before) and after == sorted(set(after))


def test_a_metric_that_cannot_be_read_is_left_out_and_said_once(tracker: Tracker, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: object, **options: object) -> None:
        raise PermissionError("no /proc/diskstats in this container")

    monkeypatch.setattr(psutil, "disk_io_counters", broken)
    tracker.system_interval = 0.02
    with caplog.at_level(logging.WARNING, "epochlog.system_metrics"):
        with tracker.start_run("no-disk", 1, capture=["system_metrics"]) as run:
            busy(0.2, [])
    series = system_series(tracker, run.id)
    assert HOST <= series.keys() and not any("disk" in name for name in series)
    warnings = [record.getMessage() for record in caplog.records if "disk" in record.getMessage()]
    assert warnings == ["system metric disk not recorded: PermissionError: no /proc/diskstats in this container"]


def test_io_rates_are_the_counters_growth_per_second_and_a_reset_gives_none() -> None:
    clock, written = [100.0], [0.0]
    rates = system_metrics._Rates(lambda: {"system/disk_write_mb_s": written[0]}, lambda: clock[0])
    assert rates() == {}  # the first reading only starts the count
    clock[0], written[0] = 102.0, 10 * MB
    assert rates() == {"system/disk_write_mb_s": 5.0}
    clock[0], written[0] = 103.0, 1 * MB  # the counter was reset (a remounted disk)
    assert rates() == {}
    clock[0], written[0] = 104.0, 4 * MB
    assert rates() == {"system/disk_write_mb_s": 3.0}


def test_a_sampler_reports_gpus_only_where_nvml_or_cuda_finds_them() -> None:
    sampler = SystemSampler()
    sampler.prime()
    values = sampler.sample().values
    sampler.close()
    gpu_metrics = {name for name in values if name.startswith("system/gpu")}
    assert HOST <= values.keys()
    assert bool(gpu_metrics) == (nvml() is not None or cuda() is not None)
