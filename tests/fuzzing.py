"""The suite's Hypothesis profiles, chosen by `EPOCHLOG_HYPOTHESIS`: `ci`, the default, is derandomized, so that
a run is reproducible; `deep` (`scripts/test --deep`) draws new examples each run, ten times as many, and prints
the blob that reproduces a failure. Property tests size themselves with `examples(n)`."""

from __future__ import annotations

import os

from hypothesis import settings

PROFILE = os.environ.get("EPOCHLOG_HYPOTHESIS", "ci")
DEEP_FACTOR = 10

settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("deep", derandomize=False, database=None, print_blob=True)
if PROFILE not in ("ci", "deep"):
    raise RuntimeError(f"EPOCHLOG_HYPOTHESIS must be ci or deep, got {PROFILE!r}")
settings.load_profile(PROFILE)


def examples(count: int) -> int:
    """A test's number of examples under the profile in use."""
    return count * DEEP_FACTOR if PROFILE == "deep" else count
