"""The public names: re-exported from `epochlog`, sorted, importable and documented."""

from __future__ import annotations

import epochlog
import epochlog.cache


def test_all_is_sorted_and_every_name_exists() -> None:
    for module in (epochlog, epochlog.cache):
        assert module.__all__ == sorted(module.__all__)
        for name in module.__all__:
            assert getattr(module, name) is not None, name


def test_every_public_name_is_documented() -> None:
    undocumented = [name for name in epochlog.__all__ if not (getattr(epochlog, name).__doc__ or "").strip()]
    assert undocumented == []


def test_the_seed_names_are_there() -> None:
    tracker_methods = ["create_experiment", "log_epoch", "save_checkpoint_info", "update_experiment_status",
                       "get_best_models", "search_experiments", "get_experiment_history", "compare_experiments",
                       "close"]
    for method in tracker_methods:
        assert callable(getattr(epochlog.MongoExperimentTracker, method))
    assert callable(epochlog.get_tracker)


def test_importing_epochlog_and_its_integrations_package_imports_no_framework() -> None:
    import subprocess
    import sys

    frameworks = ["torch", "skorch", "braindecode", "lightning", "pytorch_lightning", "transformers", "keras"]
    code = ("import sys, epochlog, epochlog.integrations, epochlog.integrations.recorder, epochlog.cli, epochlog.web; "
            f"print([name for name in {frameworks!r} if name in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
