"""Framework integrations: one module per framework, each importing its framework only when used.

    from epochlog.integrations.skorch import EpochlogCallback        # braindecode / skorch
    from epochlog.integrations.lightning import EpochlogLogger       # PyTorch Lightning
    from epochlog.integrations.pytorch_lightning import EpochlogLogger  # the same, for `pytorch_lightning`
    from epochlog.integrations.transformers import EpochlogCallback  # Hugging Face Trainer
    from epochlog.integrations.keras import EpochlogCallback         # Keras 3

All of them share `recorder.TrainingRecorder`, which maps a framework's "training began / an epoch ended /
a step ended / a checkpoint was saved / training ended" onto one tracker run.
"""
