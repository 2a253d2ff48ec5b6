"""Who may use the dashboard: localhost read-only without a token; everything behind the token with one."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from epochlog import InvalidArgument, Tracker
from epochlog.web import create_app, serve
from epochlog.loopback import is_loopback

from .conftest import TOKEN


@pytest.fixture
def experiment(tracker: Tracker) -> str:
    return tracker.create_experiment("run", 1, tags=["a"], notes="first")


def test_without_a_token_the_api_is_read_only(tracker: Tracker, experiment: str) -> None:
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        assert client.get(f"/api/experiments/{experiment}").status_code == 200
        response = client.put(f"/api/experiments/{experiment}/notes", json={"notes": "changed"})
        assert response.status_code == 403 and "EPOCHLOG_UI_TOKEN" in response.json()["error"]
        assert client.get("/api/status").json()["editable"] is False
    assert tracker.get_experiment(experiment)["notes"] == "first"


@pytest.mark.parametrize("host", ["evil.example.com", "192.168.1.5:8082", "[2001:db8::1]:8082", "dash.localhost"])
def test_without_a_token_only_loopback_names_are_answered(tracker: Tracker, host: str) -> None:
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        assert client.get("/api/experiments", headers={"host": host}).status_code == 403
        assert client.get("/", headers={"host": host}).status_code == 403
    for local in ["localhost:8082", "127.0.0.1", "[::1]:8082"]:
        with TestClient(create_app(tracker), base_url=f"http://{local}") as client:
            assert client.get("/api/experiments").status_code == 200, local


def test_with_a_token_every_page_and_api_call_needs_it(tracker: Tracker, experiment: str) -> None:
    with TestClient(create_app(tracker, token=TOKEN), base_url="http://dashboard.example.org") as client:
        for path in ["/api/experiments", f"/api/experiments/{experiment}", "/openapi.json"]:
            response = client.get(path)
            assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        for path in ["/", f"/experiments/{experiment}", "/leaderboard", "/subjects", "/compare"]:
            page = client.get(path)
            assert page.status_code == 401 and 'name="token"' in page.text
        assert client.get("/api/experiments", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/api/experiments", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert client.get("/static/css/app.css").status_code == 200  # code and styles, no data


def test_a_browser_signs_in_once_with_the_token_in_the_url(tracker: Tracker, experiment: str) -> None:
    with TestClient(create_app(tracker, token=TOKEN), base_url="http://dashboard.example.org") as client:
        redirect = client.get("/leaderboard", params={"token": TOKEN, "metric": "metrics.x"}, follow_redirects=False)
        assert redirect.status_code == 303 and redirect.headers["location"] == "/leaderboard?metric=metrics.x"
        cookie = redirect.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert client.get(f"/experiments/{experiment}").status_code == 200  # the cookie now does it
        assert client.get("/api/experiments").status_code == 200
        client.cookies.clear()
        assert client.get("/", params={"token": "wrong"}, follow_redirects=False).status_code == 401


def test_with_a_token_notes_and_tags_are_editable(tracker: Tracker, experiment: str) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(tracker, token=TOKEN), base_url="http://127.0.0.1", headers=auth) as client:
        assert client.get("/api/status").json()["editable"] is True
        notes = client.put(f"/api/experiments/{experiment}/notes", json={"notes": "<b>better</b> lr"})
        assert notes.status_code == 200 and notes.json() == {"notes": "<b>better</b> lr"}
        tags = client.put(f"/api/experiments/{experiment}/tags", json={"tags": ["b", " c ", "b"]})
        assert tags.json() == {"tags": ["b", "c"]}
        assert client.put(f"/api/experiments/{experiment}/tags", json={"tags": "nope"}).status_code == 422
        form = client.put(f"/api/experiments/{experiment}/notes", data={"notes": "csrf"})
        assert form.status_code == 422  # a cross-site form cannot post JSON
        missing = client.put(f"/api/experiments/{'0' * 24}/notes", json={"notes": "x"})
        assert missing.status_code == 404
    document = tracker.get_experiment(experiment)
    assert document["notes"] == "<b>better</b> lr" and document["tags"] == ["b", "c"]


def test_serve_refuses_a_public_address_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EPOCHLOG_UI_TOKEN", raising=False)
    with pytest.raises(InvalidArgument, match="EPOCHLOG_UI_TOKEN"):
        serve("sqlite:///:memory:", host="0.0.0.0", port=1, token=None)


def test_loopback_names() -> None:
    """The CLI's bind check and the Host-header check are one: the stricter of their former two copies."""
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST", "ip6-localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "10.0.0.1", "example.com", "localhost.example.com", "",
                                     "a.localhost", "localhost.localdomain"]))


def test_archiving_needs_the_token_and_hides_the_run_from_the_list(tracker: Tracker, experiment: str) -> None:
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        refused = client.put(f"/api/experiments/{experiment}/archived", json={"archived": True})
        assert refused.status_code == 403
    assert "archived" not in tracker.get_experiment(experiment)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(tracker, token=TOKEN), base_url="http://127.0.0.1", headers=auth) as client:
        done = client.put(f"/api/experiments/{experiment}/archived", json={"archived": True})
        assert done.status_code == 200 and done.json() == {"archived": True}
        assert client.get("/api/experiments").json()["total"] == 0
        listed = client.get("/api/experiments", params={"archived": "true"}).json()
        assert [row["id"] for row in listed["rows"]] == [experiment] and listed["rows"][0]["archived"] is True
        assert client.put(f"/api/experiments/{'0' * 24}/archived", json={"archived": True}).status_code == 404
        restored = client.put(f"/api/experiments/{experiment}/archived", json={"archived": False})
        assert restored.json() == {"archived": False} and client.get("/api/experiments").json()["total"] == 1
