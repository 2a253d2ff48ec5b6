"""Train braindecode's EEGNeX with PyTorch Lightning on synthetic EEG windows, recorded by epochlog's logger.

    python examples/train_lightning.py                  # into ./epochlog.db (or $EPOCHLOG_URI)
    python examples/train_lightning.py --uri mongodb://localhost:27017/eeg2025 --epochs 20

Nothing is downloaded: the windows are those of examples/train_eegnex.py (band-limited noise, with a weak 8 Hz
or 12 Hz rhythm on a few channels by class). A LightningModule wraps EEGNeX; `ModelCheckpoint` keeps the best
epochs by validation loss, and the logger records the run, the epochs and those checkpoints (well under a
minute on a CPU at the defaults). Then `epochlog ls`, `epochlog show ID` or the dashboard show the run.
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

from train_eegnex import SFREQ, synthetic_windows


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", help="the store (default: $EPOCHLOG_URI, else ./epochlog.db)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--windows", type=int, default=192)
    parser.add_argument("--channels", type=int, default=16, help="at most 129")
    parser.add_argument("--seconds", type=float, default=2.0, help="window length")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--challenge", type=int, default=1)
    parser.add_argument("--checkpoint-dir", default="checkpoints/eegnex_lightning",
                        help="where ModelCheckpoint saves the best epochs' files")
    args = parser.parse_args(argv)
    if not 1 <= args.channels <= 129:
        parser.error("--channels must be between 1 and 129")

    # known warnings of the installed versions that say nothing about this script
    warnings.filterwarnings("ignore", message="Montage name 'standard_1020' is deprecated", category=FutureWarning)
    warnings.filterwarnings("ignore", message="Using padding='same' with even kernel lengths", category=UserWarning)
    warnings.filterwarnings("ignore", message=".*does not have many workers")  # the windows are in memory
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
    import lightning.pytorch as L
    import torch
    from braindecode.models import EEGNeX
    from lightning.pytorch.callbacks import ModelCheckpoint
    from torch.utils.data import DataLoader, TensorDataset

    from epochlog import get_tracker
    from epochlog.integrations.lightning import EpochlogLogger

    class EEGNeXModule(L.LightningModule):
        """EEGNeX trained with AdamW on cross-entropy; validation loss and accuracy each epoch."""

        def __init__(self, n_chans: int, n_times: int, lr: float) -> None:
            super().__init__()
            self.save_hyperparameters()  # what the logger records as the experiment's config
            self.model = EEGNeX(n_chans=n_chans, n_outputs=2, n_times=n_times, sfreq=SFREQ)

        def training_step(self, batch: Any, index: int) -> torch.Tensor:
            x, y = batch
            loss = torch.nn.functional.cross_entropy(self.model(x), y)
            self.log("train_loss", loss, on_step=True, on_epoch=True)
            return loss

        def validation_step(self, batch: Any, index: int) -> None:
            x, y = batch
            logits = self.model(x)
            self.log("val_loss", torch.nn.functional.cross_entropy(logits, y))
            self.log("val_acc", (logits.argmax(-1) == y).float().mean())

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.AdamW(self.parameters(), lr=self.hparams["lr"])

    L.seed_everything(0, verbose=False)
    torch.set_num_threads(2)
    n_times = int(args.seconds * SFREQ)
    X, y = synthetic_windows(args.windows, args.channels, n_times)
    split = int(len(X) * 0.8)
    train = TensorDataset(torch.from_numpy(X[:split]), torch.from_numpy(y[:split]))
    valid = TensorDataset(torch.from_numpy(X[split:]), torch.from_numpy(y[split:]))

    logger = EpochlogLogger(uri=args.uri, experiment_name=f"eegnex_lightning_{time.strftime('%Y%m%d_%H%M%S')}",
                            challenge=args.challenge, tags=["example", "synthetic", "cpu", "lightning"],
                            dataset={"name": "synthetic oscillations", "sfreq": SFREQ})
    trainer = L.Trainer(max_epochs=args.epochs, accelerator="cpu", logger=logger, log_every_n_steps=4,
                        enable_progress_bar=False, enable_model_summary=False,
                        callbacks=[ModelCheckpoint(dirpath=args.checkpoint_dir, monitor="val_loss",
                                                   save_top_k=2, filename="eegnex-{epoch}")])
    trainer.fit(EEGNeXModule(args.channels, n_times, args.lr), DataLoader(train, batch_size=32, shuffle=True),
                DataLoader(valid, batch_size=64))

    tracker = get_tracker(args.uri)
    experiment = tracker.get_experiment(str(logger.experiment_id))
    metrics = experiment["metrics"]
    print(f"experiment {logger.experiment_id}: {experiment['status']}, best epoch {metrics.get('best_epoch')} "
          f"(val_loss {metrics.get('best_val_loss', float('nan')):.4f}) of {metrics.get('last_epoch')}")
    tracker.close()
    return str(logger.experiment_id)


if __name__ == "__main__":
    main()
