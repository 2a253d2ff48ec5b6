"""Counting round trips to a MongoDB server with pymongo's command monitoring."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from collections import Counter

from pymongo import monitoring


class CommandCounter(monitoring.CommandListener):
    """Counts every command sent (one command is one round trip), by command name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the journal's sender thread and the caller both send
        self.counts: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        with self._lock:
            self.counts[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


def server_version(uri: str) -> str:
    """The server's name and version as buildInfo tells it (FerretDB reports its own version too)."""
    import pymongo

    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        info = client.admin.command("buildInfo")
    if "ferretdbVersion" in info:
        version = info["ferretdbVersion"]
        if version == "unknown":  # our build (tools/ferretdb) does not stamp it: the module it pins says it
            version = _pinned_ferretdb() or version
        return f"FerretDB {version} (MongoDB {info.get('version')} wire)"
    return f"MongoDB {info.get('version')}"


def _pinned_ferretdb() -> str | None:
    go_mod = Path(__file__).resolve().parents[2] / "tools" / "ferretdb" / "go.mod"
    try:
        for line in go_mod.read_text().splitlines():
            parts = line.split()
            if "github.com/FerretDB/FerretDB" in parts:
                return parts[parts.index("github.com/FerretDB/FerretDB") + 1].lstrip("v")
    except OSError:
        pass
    return None


def database_name(spec_name: str, label: str, token: str) -> str:
    """A database of its own for each adapter and store label, unique per benchmark run."""
    return f"bench_{token}_{spec_name}_{label}".replace("-", "_")[:63]
