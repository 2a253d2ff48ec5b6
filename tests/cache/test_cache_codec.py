"""The blob format: made-up blobs with a valid checksum are refused, never trusted."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import numpy as np
import pytest

from epochlog.cache.codec import MAGIC, decode, encode
from epochlog.errors import CacheError


def forged(header: dict[str, Any], payload: bytes) -> bytes:
    """A blob with a correct CRC around whatever header and payload we like."""
    covered = struct.pack("<I", len(json.dumps(header))) + json.dumps(header).encode()
    return MAGIC + struct.pack("<I", zlib.crc32(payload, zlib.crc32(covered))) + covered + payload


@pytest.mark.parametrize(
    ("header", "payload"),
    [
        ({"kind": "ndarray", "dtype": "|O", "shape": [1], "expires_at": None}, b"\0" * 8),
        ({"kind": "ndarray", "dtype": [["x", "|O"]], "shape": [1], "expires_at": None}, b"\0" * 8),
        ({"kind": "ndarray", "dtype": "<f8", "shape": [-1], "expires_at": None}, b""),
        ({"kind": "ndarray", "dtype": "<f8", "shape": [2], "expires_at": None}, b"\0" * 8),
        ({"kind": "ndarray", "dtype": "not a dtype", "shape": [1], "expires_at": None}, b"\0"),
        ({"kind": "ndarray", "shape": [1], "expires_at": None}, b"\0"),
        ({"kind": "json", "expires_at": None}, b"[1, 2]"),
        ({"kind": "json", "expires_at": None}, b"{not json"),
        ({"kind": "pickle", "expires_at": None}, b"cos\nsystem\n"),
        ({"kind": "bytes", "expires_at": "tomorrow"}, b""),
        ({"kind": "bytes"}, b""),
    ],
)
def test_forged_blobs_are_refused(header: dict[str, Any], payload: bytes) -> None:
    assert decode(forged({"kind": "bytes", "expires_at": None}, b"ok")).value == b"ok"  # the forger works
    with pytest.raises(CacheError):
        decode(forged(header, payload))


def test_header_is_json_and_payload_is_aligned() -> None:
    head, payload = encode(np.arange(3, dtype="<i2"), expires_at=12.5)
    assert len(head) % 64 == 0
    assert json.loads(bytes(head[12:])) == {
        "kind": "ndarray",
        "dtype": "<i2",
        "shape": [3],
        "expires_at": 12.5,
    }
    assert bytes(payload) == np.arange(3, dtype="<i2").tobytes()
    assert decode(b"".join([head, payload])).expires_at == 12.5


def test_every_single_bit_flip_is_detected() -> None:
    blob = bytearray(b"".join(encode({"sfreq": 250.0, "ch": ["Cz"]})))
    for bit in range(len(blob) * 8):
        damaged = bytearray(blob)
        damaged[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(CacheError):
            decode(bytes(damaged))
