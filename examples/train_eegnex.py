"""Train braindecode's EEGNeX on synthetic EEG windows, recorded by epochlog's skorch callback.

    python examples/train_eegnex.py                  # into ./epochlog.db (or $EPOCHLOG_URI)
    python examples/train_eegnex.py --uri mongodb://localhost:27017/eeg2025 --epochs 20

Nothing is downloaded: each window is band-limited noise on every channel, and on a few "occipital" channels
the windows of class 1 carry a 12 Hz oscillation, those of class 0 an 8 Hz one, both weak against the noise:
something to learn in a few epochs on a CPU (about 20 s at the defaults). Then `epochlog ls`, `epochlog show ID`
or the dashboard show the run.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

SFREQ = 100.0  # Hz
CLASS_RHYTHM = {0: (8.0, 0.4), 1: (12.0, 0.4)}  # class -> (frequency in Hz, amplitude in noise units)


def synthetic_windows(n_windows: int, n_chans: int, n_times: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`(X, y)`: `n_windows` windows of shape (n_chans, n_times), float32, and their labels (0 or 1)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n_windows)
    noise = rng.standard_normal((n_windows, n_chans, n_times))
    spectrum = np.fft.rfft(noise, axis=-1)
    frequencies = np.fft.rfftfreq(n_times, 1 / SFREQ)
    spectrum[..., (frequencies < 1.0) | (frequencies > 40.0)] = 0  # EEG's usual band
    spectrum /= np.sqrt(np.maximum(frequencies, 1.0))  # more power at low frequencies, as in EEG
    X = np.fft.irfft(spectrum, n=n_times, axis=-1)
    X /= X.std(axis=-1, keepdims=True)
    t = np.arange(n_times) / SFREQ
    rhythm_chans = slice(n_chans - max(2, n_chans // 4), n_chans)
    for label, (frequency, amplitude) in CLASS_RHYTHM.items():
        members = np.flatnonzero(y == label)
        phase = rng.uniform(0, 2 * np.pi, (len(members), 1, 1))
        gain = amplitude * rng.uniform(0.5, 1.0, (len(members), 1, 1))
        X[members, rhythm_chans] += gain * np.sin(2 * np.pi * frequency * t + phase)
    return X.astype(np.float32), y.astype(np.int64)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", help="the store (default: $EPOCHLOG_URI, else ./epochlog.db)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--windows", type=int, default=320)
    parser.add_argument("--channels", type=int, default=16, help="at most 129")
    parser.add_argument("--seconds", type=float, default=2.0, help="window length")
    parser.add_argument("--challenge", type=int, default=1)
    parser.add_argument("--checkpoint-dir", default="checkpoints/eegnex_synthetic",
                        help="where skorch's Checkpoint saves the best epochs' files")
    args = parser.parse_args(argv)
    if not 1 <= args.channels <= 129:
        parser.error("--channels must be between 1 and 129")

    # known warnings of the installed versions that say nothing about this script
    warnings.filterwarnings("ignore", message="Montage name 'standard_1020' is deprecated", category=FutureWarning)
    warnings.filterwarnings("ignore", message="Using padding='same' with even kernel lengths", category=UserWarning)
    import torch
    from braindecode import EEGClassifier
    from braindecode.models import EEGNeX
    from skorch.callbacks import Checkpoint
    from skorch.dataset import ValidSplit

    from epochlog import get_tracker
    from epochlog.integrations.skorch import EpochlogCallback

    torch.manual_seed(0)
    torch.set_num_threads(2)
    n_times = int(args.seconds * SFREQ)
    X, y = synthetic_windows(args.windows, args.channels, n_times)
    callback = EpochlogCallback(uri=args.uri, experiment_name=f"eegnex_synthetic_{time.strftime('%Y%m%d_%H%M%S')}",
                                challenge=args.challenge, tags=["example", "synthetic", "cpu"],
                                dataset={"name": "synthetic oscillations", "sfreq": SFREQ})
    net = EEGClassifier(
        EEGNeX, module__n_chans=args.channels, module__n_outputs=2, module__n_times=n_times,
        module__sfreq=SFREQ, optimizer=torch.optim.AdamW, lr=2e-3, batch_size=32, max_epochs=args.epochs,
        train_split=ValidSplit(0.2, stratified=True, random_state=0), device="cpu",
        callbacks=[("checkpoint", Checkpoint(dirname=args.checkpoint_dir,
                                             f_params="params_{last_epoch[epoch]}.pt")),
                   callback])
    net.fit(X, y)

    assert callback.experiment_id is not None  # set once the fit began
    tracker = get_tracker(args.uri)
    experiment = tracker.get_experiment(callback.experiment_id)
    metrics = experiment["metrics"]
    print(f"experiment {callback.experiment_id}: {experiment['status']}, best epoch {metrics.get('best_epoch')} "
          f"(valid_loss {metrics.get('best_valid_loss', float('nan')):.4f}) of {metrics.get('last_epoch')}")
    tracker.close()
    return str(callback.experiment_id)


if __name__ == "__main__":
    main()
