"""group_stats on every backend: groups over seeds and folds with mean, spread, CI, best run and exclusions."""

from __future__ import annotations

import math
import statistics

import pytest

from epochlog import ConfigExcept, InvalidArgument, Tracker


def _run(tracker: Tracker, name: str, loss: object, *, status: str = "completed", challenge: int = 1,
         **config: object) -> str:
    eid = tracker.create_experiment(name, challenge, config=config)
    tracker.update_experiment_status(eid, status, metrics={} if loss is None else {"best_val_loss": loss})
    return eid


def _study(tracker: Tracker) -> dict[str, str]:
    ids = {}
    for seed, (a, b) in enumerate([(0.30, 0.50), (0.20, 0.55), (0.25, 0.60)]):
        ids[f"a{seed}"] = _run(tracker, f"a{seed}", a, model="eegnex", lr=0.001, seed=seed, fold=seed % 2)
        ids[f"b{seed}"] = _run(tracker, f"b{seed}", b, model="eegnex", lr=0.01, seed=seed, fold=seed % 2)
    ids["a-nan"] = _run(tracker, "a-nan", math.nan, model="eegnex", lr=0.001, seed=7, fold=1)
    ids["a-missing"] = _run(tracker, "a-missing", None, model="eegnex", lr=0.001, seed=8, fold=0)
    ids["a-failed"] = _run(tracker, "a-failed", 0.01, status="failed", model="eegnex", lr=0.001, seed=9, fold=0)
    ids["c-only"] = _run(tracker, "c-only", 0.9, challenge=2, model="shallow", lr=0.001, seed=0, fold=0)
    return ids


def test_the_same_config_over_seeds_and_folds(tracker: Tracker) -> None:
    ids = _study(tracker)
    groups = tracker.group_stats(ConfigExcept("seed", "fold"))
    assert [g.key for g in groups] == [{"config": {"model": "eegnex", "lr": 0.001}},
                                       {"config": {"model": "eegnex", "lr": 0.01}},
                                       {"config": {"model": "shallow", "lr": 0.001}}]
    first = groups[0]
    assert first.summary.n == 3 and first.excluded == 2  # NaN and missing; the failed run is not selected
    assert first.summary.mean == pytest.approx(0.25) and first.summary.sd == pytest.approx(statistics.stdev([0.3, 0.2, 0.25]))
    assert (first.summary.min, first.summary.max) == (pytest.approx(0.2), pytest.approx(0.3))
    low, high = first.summary.ci95 or (0, 0)
    assert low < 0.2 < 0.3 < high  # t(0.975, 2) = 4.30: wide with three seeds
    assert (str(first.best_id), first.best_name, first.best_value) == (ids["a1"], "a1", pytest.approx(0.2))
    assert sorted(map(str, first.experiment_ids)) == sorted(ids[k] for k in ("a0", "a1", "a2", "a-nan", "a-missing"))
    assert groups[2].summary.n == 1 and groups[2].summary.sd is None


def test_by_paths_status_challenge_filter_and_max(tracker: Tracker) -> None:
    _study(tracker)
    by_lr = tracker.group_stats(["config.lr"], challenge=1)
    assert [(g.key["config.lr"], g.summary.n) for g in by_lr] == [(0.001, 3), (0.01, 3)]
    any_status = tracker.group_stats(["config.lr"], challenge=1, status="any")
    assert any_status[0].summary.n == 4 and any_status[0].best_name == "a-failed"
    highest = tracker.group_stats(["config.lr"], mode="max", challenge=1)
    assert [g.key["config.lr"] for g in highest] == [0.01, 0.001] and highest[0].best_name == "b2"
    seeds = tracker.group_stats(["config.model"], filter={"config.seed": {"$lte": 1}})
    assert {g.key["config.model"]: g.summary.n for g in seeds} == {"eegnex": 4, "shallow": 1}


def test_runs_without_the_path_form_a_group_of_none(tracker: Tracker) -> None:
    _run(tracker, "with", 0.4, model="eegnex")
    _run(tracker, "without", 0.6)
    _run(tracker, "one", 0.5, model=1)
    _run(tracker, "one-float", 0.7, model=1.0)  # 1 and 1.0 group together, as in $group
    groups = tracker.group_stats(["config.model"])
    assert {str(g.key["config.model"]): g.summary.n for g in groups} == {"eegnex": 1, "None": 1, "1": 2}


def test_values_an_older_client_wrote_are_excluded_not_fatal(tracker: Tracker) -> None:
    _run(tracker, "text", "0.3", model="m")
    _run(tracker, "bool", True, model="m")
    _run(tracker, "inf", math.inf, model="m")
    _run(tracker, "fine", 0.5, model="m")
    [group] = tracker.group_stats(["config.model"])
    assert group.summary.n == 1 and group.excluded == 3 and group.best_name == "fine"


@pytest.mark.parametrize("kwargs, culprit", [
    ({"by": "config.model"}, "by"), ({"by": []}, "by"), ({"by": ["$where"]}, "$where"),
    ({"by": ["config.model"], "mode": "best"}, "mode"), ({"by": ["config.model"], "metric": ""}, "metric"),
    ({"by": ["config.model"], "status": "done"}, "done"), ({"by": ["config.model"], "challenge": "1"}, "challenge"),
])
def test_bad_arguments_name_the_culprit(tracker: Tracker, kwargs: dict, culprit: str) -> None:
    with pytest.raises(InvalidArgument, match=culprit.replace("$", r"\$")):
        tracker.group_stats(**kwargs)
    with pytest.raises(InvalidArgument, match="ConfigExcept"):
        ConfigExcept("seed", "")


def test_a_groups_curve_is_the_mean_and_spread_per_epoch(tracker: Tracker) -> None:
    ids = []
    for seed, values in enumerate([[1.0, 0.5, 0.4], [1.2, 0.7, math.nan], [0.8, 0.3]]):
        eid = tracker.create_experiment(f"s{seed}", 1, config={"seed": seed})
        for epoch, value in enumerate(values):
            tracker.log_epoch(eid, epoch, {"val_loss": value, "train_loss": 2 * value})
        ids.append(eid)
    curve = tracker.group_curve(ids, "val_loss")
    assert curve.epochs == [0, 1, 2] and curve.n == [3, 3, 1]  # the NaN epoch and the missing one are left out
    assert curve.mean[:2] == [pytest.approx(1.0), pytest.approx(0.5)]
    assert curve.sd[0] == pytest.approx(0.2) and curve.sd[2] is None
    assert (curve.min[1], curve.max[1]) == (pytest.approx(0.3), pytest.approx(0.7))
    assert tracker.group_curve([], "val_loss").epochs == []
    with pytest.raises(InvalidArgument, match="epoch metric"):
        tracker.group_curve(ids, "metrics.val_loss")
