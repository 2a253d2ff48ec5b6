"""The dashboard's JSON API on the demo study, through an ASGI test client."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math

import numpy as np
import pytest
from fastapi.testclient import TestClient

from epochlog import Tracker
from epochlog.web import create_app, listing

from .conftest import Demo


def rows(client: TestClient, **params: object) -> list[dict]:
    response = client.get("/api/experiments", params=params)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


# -- experiments table -----------------------------------------------------------------------------

def test_first_page_lists_the_newest_experiments_with_their_columns(client: TestClient, demo: Demo) -> None:
    body = client.get("/api/experiments").json()
    assert body["total"] == len(demo.ids)
    assert [row["id"] for row in body["rows"]] == demo.ids[::-1]  # the demo's runs start one after another
    assert "best_val_loss" in body["columns"]["metrics"]
    assert "learning_rate" in body["columns"]["config"]
    first = body["rows"][0]
    assert first["model"] and first["status"] and first["start_time"].endswith("Z")


def test_pages_cover_every_experiment_once(client: TestClient, demo: Demo) -> None:
    seen = []
    for skip in range(0, 24, 7):
        seen += [row["id"] for row in rows(client, skip=skip, limit=7, sort="config.batch_size", order=1)]
    assert sorted(seen) == sorted(demo.ids)


@pytest.mark.parametrize("field", ["metrics.best_val_loss", "config.learning_rate", "experiment_name"])
@pytest.mark.parametrize("order", [1, -1])
def test_sorts_by_any_column(client: TestClient, field: str, order: int) -> None:
    part, _, key = field.partition(".")
    found = rows(client, sort=field, order=order, limit=100)
    values = [row[part].get(key) if key else row[part] for row in found]
    comparable = [value for value in values if isinstance(value, (int, float, str)) and value not in ("NaN",)]
    assert comparable == sorted(comparable, reverse=order == -1)


def test_filters_by_challenge_status_tags_and_a_mongodb_filter(client: TestClient) -> None:
    assert {row["challenge"] for row in rows(client, challenge=2)} == {2}
    assert {row["status"] for row in rows(client, status="failed")} == {"failed"}
    assert {row["status"] for row in rows(client, status=["failed", "running"])} == {"failed", "running"}
    tagged = rows(client, tag="challenge1,baseline")
    assert tagged and all({"challenge1", "baseline"} <= set(row["tags"]) for row in tagged)
    sgd = rows(client, filter=json.dumps({"config.optimizer": "SGD", "metrics.total_epochs": {"$gte": 2}}))
    assert sgd and all(row["config"]["optimizer"] == "SGD" for row in sgd)


def test_the_mongodb_filter_box_takes_expr(client: TestClient, demo: Demo) -> None:
    """Runs longer than 20 minutes: end minus start in an aggregation expression (running ones have no end)."""
    documents = demo.tracker.search_experiments({})
    long = {str(d["_id"]) for d in documents if d.get("end_time") and d["end_time"] - d["start_time"] > dt.timedelta(minutes=20)}
    assert 0 < len(long) < len(documents)
    text = json.dumps({"$expr": {"$gt": [{"$subtract": ["$end_time", "$start_time"]}, 20 * 60_000]}})
    body = client.get("/api/experiments", params={"filter": text, "limit": 100}).json()
    assert {row["id"] for row in body["rows"]} == long and body["total"] == len(long)
    bad = client.get("/api/experiments", params={"filter": json.dumps({"$expr": {"$function": {}}})})
    assert bad.status_code == 400 and "$function" in bad.json()["error"]


@pytest.mark.parametrize("text", ['{"status": ', '["status"]', '{"status": {"$frobnicate": 1}}',
                                  "[" * 5000 + "]" * 5000, '{"a": ' * 150 + "1" + "}" * 150,
                                  '{"challenge": 99999999999999999999999}'])
def test_a_bad_filter_is_a_400_with_a_message(client: TestClient, text: str) -> None:
    response = client.get("/api/experiments", params={"filter": text})
    assert response.status_code == 400
    assert response.json()["error"]


def test_field_paths_are_refused_as_the_cli_refuses_them(client: TestClient) -> None:
    for path, params in [("/api/experiments", {"sort": "a..b"}), ("/api/leaderboard", {"metric": "metrics..x"}),
                         ("/api/groups", {"by": "config."})]:
        response = client.get(path, params=params)
        assert response.status_code == 400 and "must be a dotted field path" in response.json()["error"], path


def test_a_filter_nested_too_deeply_is_refused_as_the_cli_refuses_it(client: TestClient) -> None:
    deep = '{"a": ' * 150 + "1" + "}" * 150
    for path in ("/api/experiments", "/api/groups", "/api/subjects"):
        response = client.get(path, params={"filter": deep, "by": "challenge"})
        assert response.status_code == 400
        assert response.json()["error"] == "the filter is nested deeper than 100 levels"


@pytest.mark.parametrize("params", [{"status": "sleeping"}, {"sort": "$where"}, {"sort": "a..b"}, {"limit": 0},
                                    {"order": 2}, {"skip": 10**20}, {"challenge": "one"}])
def test_bad_table_parameters_are_client_errors(client: TestClient, params: dict) -> None:
    response = client.get("/api/experiments", params=params)
    assert response.status_code in (400, 422)
    assert response.json()["error"]


def test_stale_runs_are_marked_and_can_be_filtered(tracker: Tracker) -> None:
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    stale = tracker.create_experiment("lost", 1, heartbeat=old)
    fresh = tracker.create_experiment("alive", 1)
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        marked = {row["id"]: row["stale"] for row in rows(client)}
        assert marked == {stale: True, fresh: False}
        assert [row["id"] for row in rows(client, status="stale")] == [stale]
        assert client.get(f"/api/experiments/{stale}").json()["stale"] is True
        compared = client.get("/api/compare", params={"ids": f"{stale},{fresh}"}).json()["experiments"]
        assert [e["stale"] for e in compared] == [True, False]


def test_facets_find_every_challenge_beyond_the_sample(tracker: Tracker, monkeypatch: pytest.MonkeyPatch) -> None:
    from epochlog.web import listing

    monkeypatch.setattr(listing, "FACET_SAMPLE", 2)
    for challenge in (7, 7, 3, 1, 2):
        tracker.create_experiment(f"c{challenge}", challenge)
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        assert client.get("/api/facets").json()["challenges"] == [1, 2, 3, 7]


def test_facets_offer_the_filter_choices(client: TestClient) -> None:
    facets = client.get("/api/facets").json()
    assert facets["challenges"] == [1, 2]
    assert "eegnex" in facets["tags"] or "deep4net" in facets["tags"]
    assert "best_val_loss" in facets["metrics"] and "stale" in facets["statuses"]


# -- one experiment --------------------------------------------------------------------------------

def test_experiment_document_and_errors(client: TestClient, demo: Demo) -> None:
    body = client.get(f"/api/experiments/{demo.ids[0]}").json()
    assert body["experiment"]["_id"] == demo.ids[0] and body["editable"] is False
    missing = client.get("/api/experiments/" + "0" * 24)
    assert missing.status_code == 404 and "no experiment" in missing.json()["error"]
    malformed = client.get("/api/experiments/not-an-id")
    assert malformed.status_code == 400 and malformed.json()["error"]
    assert client.get("/api/nowhere").json() == {"error": "Not Found"}


def test_nan_metrics_travel_as_strings(client: TestClient, demo: Demo) -> None:
    body = client.get(f"/api/experiments/{demo.diverged}").json()
    assert body["experiment"]["metrics"]["best_val_loss"] == "NaN"
    epochs = client.get(f"/api/experiments/{demo.diverged}/epochs").json()["epochs"]
    assert "NaN" in [epoch["metrics"]["val_loss"] for epoch in epochs]


def test_epochs_after_a_given_one_for_live_updates(client: TestClient, demo: Demo) -> None:
    everything = client.get(f"/api/experiments/{demo.running}/epochs").json()
    assert everything["experiment"]["status"] == "running"
    last = everything["last_epoch"]
    assert [epoch["epoch"] for epoch in everything["epochs"]] == list(range(last + 1))
    tail = client.get(f"/api/experiments/{demo.running}/epochs", params={"after": last - 2}).json()
    assert [epoch["epoch"] for epoch in tail["epochs"]] == [last - 1, last]
    assert client.get(f"/api/experiments/{demo.running}/epochs", params={"after": last}).json()["epochs"] == []


def test_checkpoints_mark_the_best_and_verify_checksums(client: TestClient, demo: Demo) -> None:
    checkpoints = client.get(f"/api/experiments/{demo.completed[0]}/checkpoints").json()["checkpoints"]
    assert sum(cp["is_best"] for cp in checkpoints) == 1
    assert {cp["state"] for cp in checkpoints} == {"ok"}


def test_a_changed_or_missing_checkpoint_file_shows(tracker: Tracker, tmp_path) -> None:
    eid = tracker.create_experiment("ckpt", 1)
    kept, removed = tmp_path / "a.pt", tmp_path / "b.pt"
    kept.write_bytes(b"weights")
    removed.write_bytes(b"more weights")
    tracker.save_checkpoint_info(eid, 1, {"val_loss": 0.5}, {"path": kept}, is_best=True)
    tracker.save_checkpoint_info(eid, 2, {"val_loss": 0.6}, {"path": removed})
    kept.write_bytes(b"tampered")
    removed.unlink()
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        states = [cp["state"] for cp in client.get(f"/api/experiments/{eid}/checkpoints").json()["checkpoints"]]
    assert states == ["changed", "missing"]


# -- step series -----------------------------------------------------------------------------------

def test_a_million_points_arrive_downsampled_and_refine_on_zoom(tracker: Tracker) -> None:
    eid = tracker.create_experiment("big", 1)
    steps = np.arange(1_000_000, dtype=np.int64)
    values = np.sin(steps / 5000.0) + (steps == 777_777) * 5.0  # one spike must survive
    tracker.log_metric_series(eid, "train/loss", steps, values)
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        assert client.get(f"/api/experiments/{eid}/series").json() == {"series": ["train/loss"]}
        full = client.get(f"/api/experiments/{eid}/series/train/loss").json()
        assert full["total"] == 1_000_000 and full["downsampled"]
        assert len(full["steps"]) <= 2000
        assert full["steps"][0] == 0 and full["steps"][-1] == 999_999
        assert max(full["values"]) == pytest.approx(values.max())
        zoom = client.get(f"/api/experiments/{eid}/series/train/loss", params={"start": 1000, "end": 1999}).json()
        assert zoom["count"] == 1000 and not zoom["downsampled"]
        assert zoom["steps"] == list(range(1000, 2000))
        tail = client.get(f"/api/experiments/{eid}/series/train/loss", params={"after": 999_990}).json()
        assert tail["steps"] == list(range(999_991, 1_000_000))


def test_nan_in_a_series_is_a_gap(tracker: Tracker) -> None:
    eid = tracker.create_experiment("nan", 1)
    tracker.log_metric_series(eid, "loss", [0, 1, 2, 3], [1.0, math.nan, math.inf, 0.5])
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        body = client.get(f"/api/experiments/{eid}/series/loss").json()
    assert body["values"] == [1.0, None, None, 0.5]


# -- compare, leaderboard, subjects ----------------------------------------------------------------

def test_compare_shows_differing_config_and_metrics_side_by_side(client: TestClient, demo: Demo) -> None:
    ids = demo.completed[:3]
    body = client.get("/api/compare", params={"ids": ",".join(ids)}).json()
    assert [e["id"] for e in body["experiments"]] == ids
    config = {row["key"]: row for row in body["config"]}
    assert config["config.seed"]["differs"] is True
    assert config["config.window_seconds"]["differs"] is False
    assert config["config.window_seconds"]["values"] == [2.0, 2.0, 2.0]
    metrics = {row["key"]: row["values"] for row in body["metrics"]}
    assert len(metrics["best_val_loss"]) == 3


@pytest.mark.parametrize("count", [1, 11])
def test_compare_takes_two_to_ten(client: TestClient, demo: Demo, count: int) -> None:
    ids = (demo.ids * 2)[:count] if count == 1 else [str(i).zfill(24) for i in range(count)]
    response = client.get("/api/compare", params={"ids": ",".join(ids)})
    assert response.status_code == 400 and "2 to 10" in response.json()["error"]


def test_compare_of_an_unknown_experiment_is_404(client: TestClient, demo: Demo) -> None:
    response = client.get("/api/compare", params={"ids": f"{demo.ids[0]},{'0' * 24}"})
    assert response.status_code == 404


def test_leaderboard_ranks_per_challenge_and_never_ranks_nan(client: TestClient, demo: Demo) -> None:
    body = client.get("/api/leaderboard", params={"n": 50}).json()
    assert [board["challenge"] for board in body["boards"]] == [1, 2]
    ranked = [row["id"] for board in body["boards"] for row in board["rows"]]
    assert demo.diverged not in ranked and demo.running not in ranked and demo.failed not in ranked
    assert sorted(ranked) == sorted(demo.completed)
    for board in body["boards"]:
        values = [row["value"] for row in board["rows"]]
        assert values == sorted(values)
    assert sum(board["completed"] - board["ranked"] for board in body["boards"]) == 1  # the NaN run
    best_first = client.get("/api/leaderboard", params={"metric": "metrics.best_val_accuracy", "mode": "max",
                                                        "challenge": 1}).json()["boards"][0]["rows"]
    assert [row["value"] for row in best_first] == sorted((row["value"] for row in best_first), reverse=True)


def test_subjects_and_a_breakdown_by_age_band_and_by_sex(client: TestClient) -> None:
    subjects = client.get("/api/subjects", params={"limit": 10}).json()
    assert subjects["total"] == 48 and len(subjects["rows"]) == 10
    assert {"age", "sex", "release"} <= set(subjects["attributes"])
    by_age = client.get("/api/subjects/breakdown", params={"metric": "val_loss", "by": "age"}).json()
    assert by_age["kind"] == "numeric" and len(by_age["groups"]) >= 3
    assert sum(group["n_subjects"] for group in by_age["groups"]) == by_age["subjects_with_values"]
    assert all(group["lo"] < group["hi"] for group in by_age["groups"])
    by_sex = client.get("/api/subjects/breakdown", params={"metric": "val_loss", "by": "sex"}).json()
    assert by_sex["kind"] == "categorical" and {g["label"] for g in by_sex["groups"]} <= {"F", "M"}
    filtered = client.get("/api/subjects", params={"filter": '{"sex": "F"}'}).json()
    assert filtered["rows"] and {row["sex"] for row in filtered["rows"]} == {"F"}


def test_breakdown_of_one_experiment(client: TestClient, demo: Demo) -> None:
    body = client.get("/api/subjects/breakdown", params={"experiment": demo.completed[0]}).json()
    assert len(body["experiments"]) == 1 and body["subjects_with_values"] == 12


# -- export ----------------------------------------------------------------------------------------

def test_export_the_selection_as_csv_and_json(client: TestClient, demo: Demo) -> None:
    ids = demo.completed[:2]
    response = client.get("/api/experiments/export", params={"ids": ",".join(ids), "format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["id"] for row in table] == ids
    assert table[0]["config.learning_rate"] and table[0]["metrics.best_val_loss"]
    exported = client.get("/api/experiments/export", params={"ids": ",".join(ids), "format": "json"}).json()
    assert [doc["_id"] for doc in exported] == ids and "subject_metrics" not in exported[0]


def test_export_what_the_filter_matches(client: TestClient) -> None:
    response = client.get("/api/experiments/export", params={"status": "failed", "format": "json"})
    assert {doc["status"] for doc in response.json()} == {"failed"}


def test_csv_cells_never_start_a_formula(tracker: Tracker) -> None:
    eid = tracker.create_experiment("=HYPERLINK(\"http://x\")", 1, metrics={"delta": -0.5})
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        text = client.get("/api/experiments/export", params={"ids": eid}).text
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["experiment_name"].startswith("'=") and row["metrics.delta"] == "-0.5"


# -- pages -----------------------------------------------------------------------------------------

def test_pages_render_with_their_data(client: TestClient, demo: Demo) -> None:
    for path in ["/", f"/experiments/{demo.ids[0]}", f"/compare?ids={demo.ids[0]},{demo.ids[1]}", "/leaderboard",
                 "/subjects"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert 'id="initial-data"' in response.text
    assert client.get("/experiments/" + "0" * 24).status_code == 404
    assert client.get("/static/vendor/uPlot.iife.min.js").status_code == 200


def test_the_experiments_page_carries_its_first_rows(client: TestClient, demo: Demo) -> None:
    html = client.get("/").text
    data = json.loads(html.split('id="initial-data" type="application/json">')[1].split("</script>")[0])
    assert data["page"]["total"] == len(demo.ids) and len(data["page"]["rows"]) == len(demo.ids)
    bad = client.get("/", params={"filter": "{nope"})
    assert bad.status_code == 200 and "not valid JSON" in bad.text


def test_user_strings_never_become_markup(tracker: Tracker) -> None:
    name = "<script>alert(1)</script></script><img src=x onerror=alert(2)>"
    eid = tracker.create_experiment(name, 1, tags=["<b>bold</b>"], config={"note": "</script>"})
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        for path in ["/", f"/experiments/{eid}"]:
            html = client.get(path).text
            assert "<script>alert" not in html and "<img src=x" not in html and "<b>bold" not in html
            assert "\\u003cscript\\u003ealert(1)" in html
        title = client.get(f"/experiments/{eid}").text.split("<title>")[1].split("</title>")[0]
        assert title.startswith("&lt;script&gt;")


def test_openapi_documents_every_api_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ["/api/experiments", "/api/experiments/{experiment_id}", "/api/experiments/{experiment_id}/epochs",
                 "/api/experiments/{experiment_id}/series/{name}", "/api/compare", "/api/leaderboard",
                 "/api/subjects", "/api/subjects/breakdown", "/api/experiments/export",
                 "/api/experiments/{experiment_id}/console", "/api/experiments/{experiment_id}/packages",
                 "/api/experiments/{experiment_id}/diff"]:
        assert path in paths, path
    assert not [path for path in paths if not path.startswith("/api/")]


def test_the_package_exports_its_entry_points() -> None:
    import epochlog.web

    assert epochlog.web.__all__ == sorted(epochlog.web.__all__) == ["create_app", "serve"]
    assert all(callable(getattr(epochlog.web, name)) for name in epochlog.web.__all__)


def test_an_empty_store_answers_everywhere(tracker: Tracker) -> None:
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        for path in ["/", "/leaderboard", "/subjects", "/api/experiments", "/api/facets", "/api/subjects",
                     "/api/subjects/breakdown", "/api/experiments/export"]:
            assert client.get(path).status_code == 200, path
        assert client.get("/api/leaderboard").json()["boards"] == [
            {"challenge": None, "completed": 0, "considered": 0, "ranked": 0, "rows": []}]


def test_a_big_store_counts_its_page_up_to_a_limit(client: TestClient, demo: Demo,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Past COUNT_LIMIT matches (and the page), the total is a lower bound the page shows as "N+"."""
    monkeypatch.setattr(listing, "COUNT_LIMIT", 3)
    capped = client.get("/api/experiments", params={"limit": 5}).json()
    assert (capped["total"], capped["total_exact"], len(capped["rows"])) == (6, False, 5)
    last = client.get("/api/experiments", params={"limit": 5, "skip": 20}).json()
    assert (last["total"], last["total_exact"]) == (len(demo.ids), True)
