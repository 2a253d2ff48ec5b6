"""group_runs against a pandas groupby reference on random runs (mean, sd, sem, min, max, count, 95% CI)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from bson import ObjectId
from hypothesis import event, given, settings
from hypothesis import strategies as st
from scipy import stats

from epochlog.groups import ConfigExcept, group_runs

from tests.fuzzing import examples

MODELS = ["eegnex", "shallow", "deep4"]
metric_values = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),  # mostly finite values
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.integers(min_value=-1000, max_value=1000),
    st.sampled_from([math.nan, math.inf, -math.inf, "0.5", None, True]),  # excluded: never a number
)
runs = st.lists(st.tuples(st.sampled_from(MODELS), st.sampled_from([1, 2, 1.0]), st.integers(0, 5), metric_values),
                min_size=1, max_size=40)


def _documents(rows: list[tuple[str, Any, int, Any]]) -> list[dict[str, Any]]:
    documents = []
    for index, (model, lr, seed, value) in enumerate(rows):
        metrics = {} if value is None else {"loss": value}
        documents.append({"_id": ObjectId(), "experiment_name": f"run{index}",
                          "config": {"seed": seed, "model": model, "lr": lr}, "metrics": metrics})
    return documents


def _reference(documents: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame([{"model": d["config"]["model"], "lr": float(d["config"]["lr"]),
                           "loss": d["metrics"].get("loss")} for d in documents])
    numeric = frame["loss"].map(lambda v: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool)
                                and math.isfinite(v) else math.nan)
    frame = frame.assign(loss=numeric)
    return frame.groupby(["model", "lr"])["loss"].agg(["count", "size", "mean", "std", "sem", "min", "max"])


@settings(max_examples=examples(150), deadline=None)
@given(runs, st.sampled_from(["min", "max"]), st.booleans())
def test_groups_agree_with_pandas(rows: list[tuple[str, Any, int, Any]], mode: str, except_seed: bool) -> None:
    documents = _documents(rows)
    by = ConfigExcept("seed") if except_seed else ["config.model", "config.lr"]
    groups = group_runs(documents, by, "metrics.loss", mode)
    reference = _reference(documents)
    event(f"groups: {min(len(groups), 4)}{'+' if len(groups) >= 4 else ''}")
    event("some runs excluded" if any(g.excluded for g in groups) else "no run excluded")
    event("a group of one value" if any(g.summary.n == 1 for g in groups) else "every group has 0 or 2+ values")
    assert len(groups) == len(reference)  # 1 and 1.0 in one group, as MongoDB's $group does
    for group in groups:
        config = group.key["config"] if except_seed else {"model": group.key["config.model"],
                                                         "lr": group.key["config.lr"]}
        expected = reference.loc[(config["model"], float(config["lr"]))]
        summary = group.summary
        assert summary.n == expected["count"] and group.excluded == expected["size"] - expected["count"]
        assert len(group.experiment_ids) == expected["size"]
        if summary.n == 0:
            assert summary.mean is None and group.best_id is None
            continue
        assert summary.mean == pytest.approx(expected["mean"], rel=1e-9, abs=1e-9)
        assert (summary.min, summary.max) == (expected["min"], expected["max"])
        assert group.best_value == (expected["min"] if mode == "min" else expected["max"])
        if summary.n == 1:
            assert summary.sd is None and summary.ci95 is None
            continue
        assert summary.sd == pytest.approx(expected["std"], rel=1e-9, abs=1e-9)
        assert summary.sem == pytest.approx(expected["sem"], rel=1e-9, abs=1e-9)
        low, high = (stats.t.interval(0.95, summary.n - 1, loc=expected["mean"], scale=expected["sem"])
                     if expected["sem"] > 0 else (expected["mean"], expected["mean"]))
        assert summary.ci95 == (pytest.approx(low, rel=1e-7, abs=1e-7), pytest.approx(high, rel=1e-7, abs=1e-7))
    means = [g.summary.mean for g in groups if g.summary.mean is not None]
    assert means == sorted(means, reverse=mode == "max")  # best mean first
    assert all(g.summary.mean is None for g in groups[len(means):])  # groups without a value last
