"""Cache keys built from what produced the data, so equal inputs meet across processes.

A key is `"<namespace>/<digest>"`. The digest hashes a canonical JSON form of the recording id and the
preprocessing parameters: mapping order does not matter, `4` and `4.0` are the same number, and tuples equal
lists, so an identical config always hits and any changed value misses.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from ..errors import CacheError

DEFAULT_NAMESPACE = "default"
_NAMESPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class RecordingId(NamedTuple):
    """The recording a cached value was derived from."""

    subject: str
    release: str
    task: str


class Slot(NamedTuple):
    """Where a key lives in a backend: its namespace and a fixed-length hex digest."""

    namespace: str
    digest: str


def check_namespace(namespace: str) -> str:
    """Return `namespace` if it is 1-64 of `[A-Za-z0-9_.-]` starting with a letter or digit."""
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise CacheError(f"invalid cache namespace {namespace!r}: use 1-64 of [A-Za-z0-9_.-]")
    return namespace


def cache_key(namespace: str, recording: Any = None, params: Mapping[str, Any] | None = None) -> str:
    """A stable key for the value computed from `recording` with preprocessing `params`.

    `recording` is a `RecordingId`, a (subject, release, task) tuple, a mapping or a string; `params` holds
    JSON-like values (numpy scalars allowed). Raises CacheError for anything else.
    """
    check_namespace(namespace)
    canonical = json.dumps([canonical_value(recording, "recording"), canonical_value(params or {}, "params")],
                           sort_keys=True, separators=(",", ":"), allow_nan=True)
    return f"{namespace}/{hashlib.blake2b(canonical.encode(), digest_size=20).hexdigest()}"


def locate(key: str) -> Slot:
    """The slot of `key`: the text before the first `/` is its namespace (else `default`)."""
    if not isinstance(key, str) or not key:
        raise CacheError(f"a cache key is a non-empty string, not {key!r}")
    namespace, sep, _ = key.partition("/")
    check_namespace(namespace if sep else DEFAULT_NAMESPACE)
    digest = hashlib.blake2b(key.encode(), digest_size=20).hexdigest()
    return Slot(namespace if sep else DEFAULT_NAMESPACE, digest)


def canonical_value(value: Any, path: str) -> Any:
    """`value` as plain JSON data with one spelling per meaning; CacheError names a bad `path`."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        value = value.item()  # the same number as a Python scalar hashes the same
    if isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)  # 4.0 and 4 (and -0.0 and 0) describe the same filter
        return value  # json writes repr(), the shortest exact spelling; nan/inf as NaN/Infinity
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise CacheError(f"{path}: cache key mappings need str keys, not {k!r}")
            out[k] = canonical_value(v, f"{path}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [canonical_value(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise CacheError(f"{path}: cannot use {type(value).__name__} in a cache key; "
                     "describe the data (ids, parameters) rather than passing it")
