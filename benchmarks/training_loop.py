"""Item 3: what epochlog costs a real training loop, as a percentage of step time.

A small EEG-like convolutional regressor (a temporal convolution over 24 channels of 2 s windows at
128 Hz, ReLU, average pooling over time, a linear head) trains on synthetic data with plain SGD, in numpy,
or in PyTorch when it is installed (`--framework torch`). Blocks of steps alternate without and with
epochlog (per-step `run.log_metrics`, a `run.log_epoch` every ten blocks), so drift in the machine's
speed hits both sides alike; the overhead is the median, over adjacent pairs of blocks, of the with-block
step time over the without-block one, minus one. The time spent inside epochlog's calls is reported too (it misses background threads,
which the A/B comparison includes).

    python -m benchmarks.training_loop [--uri sqlite:///bench.db] [--steps 3000] [--framework numpy|torch]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from epochlog import Tracker

BATCH, CHANNELS, SAMPLES, KERNEL, FILTERS = 32, 24, 256, 25, 16
BLOCK = 20  # steps in a block; blocks alternate without and with epochlog, compared pairwise
EPOCH_BLOCKS = 10  # an "epoch" ends every 10 blocks
LEARNING_RATE = 0.01


def synthetic_eeg(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of noisy oscillations; the target depends on the alpha-band amplitude of a few channels."""
    t = np.arange(SAMPLES) / 128.0
    amplitude = rng.uniform(0.5, 2.0, (count, CHANNELS, 1))
    frequency = rng.uniform(8, 12, (count, CHANNELS, 1))
    x = amplitude * np.sin(2 * np.pi * frequency * t) + rng.normal(0, 1, (count, CHANNELS, SAMPLES))
    y = amplitude[:, :4, 0].mean(axis=1, keepdims=True)
    return x.astype(np.float32), y.astype(np.float32)


class NumpyConvNet:
    """Conv1d (as one matmul over sliding windows) -> ReLU -> mean over time -> linear; MSE; SGD."""

    def __init__(self, rng: np.random.Generator) -> None:
        scale = 1 / np.sqrt(CHANNELS * KERNEL)
        self.conv = (rng.normal(0, scale, (CHANNELS * KERNEL, FILTERS))).astype(np.float32)
        self.head = (rng.normal(0, 1 / np.sqrt(FILTERS), (FILTERS, 1))).astype(np.float32)

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        windows = np.lib.stride_tricks.sliding_window_view(x, KERNEL, axis=2)  # (B, C, T', K)
        patches = windows.transpose(0, 2, 1, 3).reshape(x.shape[0], -1, CHANNELS * KERNEL)  # (B, T', C*K)
        hidden = patches @ self.conv  # (B, T', F)
        active = np.maximum(hidden, 0)
        pooled = active.mean(axis=1)  # (B, F)
        error = pooled @ self.head - y
        loss = float((error ** 2).mean())
        grad_out = 2 * error / error.size  # (B, 1)
        grad_head = pooled.T @ grad_out
        grad_pooled = grad_out @ self.head.T  # (B, F)
        grad_hidden = (hidden > 0) * (grad_pooled[:, None, :] / hidden.shape[1])
        grad_conv = patches.reshape(-1, CHANNELS * KERNEL).T @ grad_hidden.reshape(-1, FILTERS)
        self.head -= LEARNING_RATE * grad_head
        self.conv -= LEARNING_RATE * grad_conv
        return loss


def torch_step_function(rng: np.random.Generator) -> Callable[[np.ndarray, np.ndarray], float]:
    import torch

    torch.manual_seed(int(rng.integers(2**31)))
    torch.set_num_threads(1)  # as for numpy's BLAS (see _blas_threads)
    model = torch.nn.Sequential(torch.nn.Conv1d(CHANNELS, FILTERS, KERNEL), torch.nn.ReLU(),
                                torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(), torch.nn.Linear(FILTERS, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)

    def step(x: np.ndarray, y: np.ndarray) -> float:
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        optimizer.step()
        return float(loss.item())

    return step


def measure_overhead(tracker: Tracker, steps: int, framework: str = "numpy") -> dict[str, Any]:
    """Train `steps` steps in alternating blocks without and with `tracker`; the overhead in %."""
    blas_threads = _blas_threads()
    rng = np.random.default_rng(0)
    x_all, y_all = synthetic_eeg(rng, 8 * BATCH)
    step = torch_step_function(rng) if framework == "torch" else NumpyConvNet(rng).step
    batches = [(x_all[i:i + BATCH], y_all[i:i + BATCH]) for i in range(0, len(x_all), BATCH)]
    for index in range(20):  # warm caches and BLAS before measuring
        step(*batches[index % len(batches)])
    pairs = max(1, steps // (2 * BLOCK))
    blocks: dict[bool, list[float]] = {False: [], True: []}
    inside = 0.0
    clock = time.perf_counter
    global_step = 0
    with tracker.start_run("training-loop-overhead", config={"framework": framework, "batch": BATCH},
                           capture=False) as run:  # the environment is measured by bench_capture.py
        for block in range(2 * pairs):
            logging = block % 2 == 1
            start = clock()
            for _ in range(BLOCK):
                loss = step(*batches[global_step % len(batches)])
                if logging:
                    before = clock()
                    run.log_metrics({"batch_loss": loss, "lr": LEARNING_RATE}, step=global_step)
                    inside += clock() - before
                global_step += 1
            if logging and block % EPOCH_BLOCKS == EPOCH_BLOCKS - 1:
                before = clock()
                run.log_epoch(block // EPOCH_BLOCKS, {"train_loss": loss, "learning_rate": LEARNING_RATE})
                inside += clock() - before
            blocks[logging].append((clock() - start) / BLOCK)
    tracker.flush()
    ratios = [with_ / without for without, with_ in zip(blocks[False], blocks[True])]
    logged_time = sum(blocks[True]) * BLOCK
    return {"framework": framework, "steps": 2 * pairs * BLOCK, "blas_threads": blas_threads,
            "step_ms_without": statistics.median(blocks[False]) * 1000,
            "step_ms_with": statistics.median(blocks[True]) * 1000,
            "overhead_pct": (statistics.median(ratios) - 1) * 100,
            "inside_calls_pct": inside / logged_time * 100,
            "inside_us_per_step": inside / (pairs * BLOCK) * 1e6}


def _blas_threads() -> int | None:
    """One BLAS thread: with two on a two-core machine step times vary fivefold, which no A/B survives."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    threadpool_limits(1)
    return 1


def framework() -> str:
    try:
        import torch  # noqa: F401
    except ImportError:
        return "numpy"
    return "torch"


def worker(spec: Any, steps: int, kind: str, queue: Any) -> None:
    """W5-style worker: a fresh process, on the adapter's own tracker (so a journal is set up the same way)."""
    from .adapters import open_adapter

    try:
        adapter = open_adapter(spec)
        queue.put(measure_overhead(adapter.tracker, steps, kind))  # type: ignore[attr-defined]
        adapter.close()
    except BaseException:
        queue.put({"error": traceback.format_exc()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", help="a store URI (default: a temporary embedded store)")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--framework", choices=("numpy", "torch"), default=framework())
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        from epochlog import Tracker

        with Tracker(args.uri or f"sqlite:///{Path(directory) / 'training.db'}") as tracker:
            print(json.dumps(measure_overhead(tracker, args.steps, args.framework), indent=2))


if __name__ == "__main__":
    main()
