"""The Hugging Face Trainer: EEGNeX in a module whose forward returns {"loss", "logits"}, a tiny Dataset.

Every kind logs every step (`logging_steps=1`: `loss`, `grad_norm`, `learning_rate`) and evaluates every epoch;
nothing is saved (`save_strategy="no"`), nothing is reported but the integration (`report_to=[]`), and the
Trainer's `PrinterCallback` (which would print each step's logs) is removed. epochlog: `EpochlogCallback`.
MLflow: transformers' own `MLflowCallback` (the `TrainingArguments` as params, every log as metrics, logged
asynchronously: `synchronous=False`, as it does with MLflow 2.8 or later).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers is imported: nothing comes from the hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from braindecode.models import EEGNeX  # noqa: E402
from transformers import PrinterCallback, Trainer, TrainingArguments  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

from . import CLASSES, EPOCHLOG, MLFLOW, Context, Prepared, Settings, Windows, callback_hooks  # noqa: E402

hf_logging.set_verbosity_error()


class Classifier(torch.nn.Module):
    """EEGNeX with the loss computed in `forward`, as the Trainer expects of a model."""

    def __init__(self, channels: int, samples: int) -> None:
        super().__init__()
        self.eegnex = EEGNeX(n_chans=channels, n_outputs=CLASSES, n_times=samples)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.eegnex(x)
        return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}


class WindowSet(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[index], "labels": self.y[index]}


def prepare(windows: Windows, settings: Settings, kind: str, context: Context) -> Prepared:
    callbacks: list[Any] = []
    if kind == EPOCHLOG:
        from epochlog.integrations.transformers import EpochlogCallback

        callbacks.append(EpochlogCallback(tracker=context.tracker))
    elif kind == MLFLOW:
        from transformers.integrations.integration_utils import MLflowCallback

        callbacks.append(MLflowCallback())
    args = TrainingArguments(
        output_dir=os.path.join(settings.workdir, "transformers"), run_name=context.experiment_name,
        num_train_epochs=settings.epochs, per_device_train_batch_size=settings.batch,
        per_device_eval_batch_size=settings.batch, learning_rate=settings.learning_rate, optim="adamw_torch",
        lr_scheduler_type="constant", eval_strategy="epoch", save_strategy="no", logging_steps=1, report_to=[],
        use_cpu=True, disable_tqdm=True, dataloader_num_workers=0, seed=0)
    torch.manual_seed(0)
    trainer = Trainer(model=Classifier(windows.channels, windows.samples), args=args,
                      train_dataset=WindowSet(windows.x_train, windows.y_train),
                      eval_dataset=WindowSet(windows.x_valid, windows.y_valid), callbacks=callbacks)
    trainer.remove_callback(PrinterCallback)
    return Prepared(trainer.train, [(callback, callback_hooks) for callback in callbacks])
