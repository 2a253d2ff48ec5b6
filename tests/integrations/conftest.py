"""Fixtures of the framework integration tests: every framework is the real one from PyPI, on CPU.

`tracker` (tests/conftest.py) runs each test on the embedded store, the MongoDB-wire server and the MongoDB
store behind the journal; `backend_uri` (tests/conftest.py) gives the same three as a URI for child processes.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before anything imports keras
