"""uvicorn serving the dashboard, ending its live-update streams first when asked to stop."""

from __future__ import annotations

from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from .slots import StreamSlots


class DashboardServer(uvicorn.Server):
    """uvicorn waits for open responses before it tells the app (its lifespan) it is shutting down, so the
    streams, which would never finish by themselves, are told here. `config` is uvicorn.Config's."""

    def __init__(self, app: FastAPI, **config: Any) -> None:
        super().__init__(uvicorn.Config(app, **config))
        self.streams: StreamSlots = app.state.settings.streams

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.streams.close()
        super().handle_exit(sig, frame)
