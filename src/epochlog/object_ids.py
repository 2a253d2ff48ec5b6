"""ObjectIds built faster than bson's constructor: from 24 hex digits, and new ones for every logged epoch.

Both hand the 12 bytes to `speedups.objectid_from_bytes` (bson's private slot, checked at import, else bson's
constructor). New ids follow the ObjectId layout: 4 bytes of seconds, 5 random bytes per process (drawn again
in a forked child), a 3-byte counter.
"""

from __future__ import annotations

import itertools
import os
import random
import struct
import time
from collections.abc import Callable
from typing import Any

from bson import ObjectId

from .speedups import objectid_from_bytes as _from_bytes

_pack_seconds = struct.Struct(">I").pack


def object_id(value: Any, _fromhex: Callable[[str], bytes] = bytes.fromhex) -> ObjectId:
    """ObjectId(value), a third faster for the usual 24 hex digits (no type dispatch of ObjectId.__init__)."""
    try:
        binary = _fromhex(value)
    except (TypeError, ValueError):
        return ObjectId(value)  # raises what ObjectId raises
    if len(binary) == 12 and len(value) == 24:  # fromhex skips whitespace: ObjectId wants exactly 24 digits
        return _from_bytes(binary)
    return ObjectId(value)


class _Process:
    """The random middle of this process's ids and their counter."""

    def __init__(self) -> None:
        self.random = os.urandom(5)
        self.counter = itertools.count(random.randrange(0x1000000))


_process = _Process()


def _reset_in_child() -> None:
    global _process
    _process = _Process()


os.register_at_fork(after_in_child=_reset_in_child)


def new_object_id() -> ObjectId:
    """ObjectId(), three times faster."""
    process = _process
    return _from_bytes(_pack_seconds(int(time.time()) & 0xFFFFFFFF) + process.random
                       + (next(process.counter) & 0xFFFFFF).to_bytes(3, "big"))
