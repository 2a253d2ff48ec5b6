"""Cache values to bytes and back, with no pickle: what is read back can never run code.

A blob is `MAGIC | crc32 | header length | JSON header | padding | payload`. The CRC-32 covers everything
after it, so a truncated or bit-flipped blob is detected (accidental damage, not tampering: whoever can write
the cache can write any valid value). The payload starts on a 64-byte boundary so arrays can be viewed in
place, e.g. over an mmap of a cache file.

Values:
- numpy arrays of any non-object dtype (bool, ints, floats incl. float16, complex, datetime64, timedelta64,
  'U'/'S' strings, structured) and any shape; read back C-ordered and read-only;
- bytes (bytearray and memoryview are stored as bytes);
- metadata dicts of JSON values (str keys, lists not tuples), which round-trip exactly.
"""

from __future__ import annotations

import json
import math
import mmap
import struct
import zlib
from typing import Any, NamedTuple

import numpy as np
from numpy.lib import format as npy_format
from numpy.typing import NDArray

from ..errors import CacheError

Value = NDArray[Any] | bytes | dict[str, Any]
#: What backends hand back: bytes, or an mmap that decoded arrays keep alive.
Buffer = bytes | bytearray | memoryview | mmap.mmap

MAGIC = b"ELC1"
_PREFIX = struct.Struct("<4sII")  # magic, crc32 of all that follows it, header length
_CRC_END = 8
_ALIGN = 64


class Decoded(NamedTuple):
    """A decoded blob: the value and when it expires (Unix seconds), if ever."""

    value: Value
    expires_at: float | None


def encode(value: Value | bytearray | memoryview, expires_at: float | None = None) -> list[bytes | memoryview]:
    """The blob for `value` as a list of parts to write one after the other (no payload copy)."""
    header: dict[str, Any]
    if isinstance(value, np.ndarray):
        header, payload = _array_parts(value)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        view = memoryview(value)
        header = {"kind": "bytes"}
        payload = view.cast("B") if view.c_contiguous else memoryview(view.tobytes())
    elif isinstance(value, dict):
        _check_json(value, "")
        header = {"kind": "json"}
        payload = memoryview(json.dumps(value, ensure_ascii=False, allow_nan=True).encode())
    else:
        raise CacheError(f"cannot cache a {type(value).__name__}: store a numpy array, bytes or a dict of "
                         "JSON values (wrap numpy scalars with np.asarray)")
    header["expires_at"] = expires_at
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(_PREFIX.size + len(text)) % _ALIGN)
    covered = struct.pack("<I", len(text)) + text  # the CRC covers the length field too
    crc = zlib.crc32(payload, zlib.crc32(covered))
    return [MAGIC + struct.pack("<I", crc) + covered, payload]


def decode(blob: Buffer) -> Decoded:
    """The value in `blob`; CacheError if it is not a well-formed, intact blob. Arrays are views into `blob`
    (zero-copy) and therefore read-only."""
    view = memoryview(blob).cast("B")
    if view.nbytes < _PREFIX.size:
        raise CacheError(f"truncated cache value ({view.nbytes} bytes)")
    magic, crc, header_len = _PREFIX.unpack_from(view)
    if magic != MAGIC:
        raise CacheError("not a cache value (bad magic)")
    offset = _PREFIX.size + header_len
    if offset > view.nbytes:
        raise CacheError("truncated cache value (header)")
    if zlib.crc32(view[_CRC_END:]) != crc:
        raise CacheError("cache value fails its checksum")
    try:
        header = json.loads(bytes(view[_PREFIX.size:offset]))
        kind, expires_at = header["kind"], header["expires_at"]
        if expires_at is not None and not isinstance(expires_at, (int, float)):
            raise TypeError(f"expires_at {expires_at!r}")
        if kind == "ndarray":
            value: Value = _read_array(blob, header, offset, view.nbytes)
        elif kind == "bytes":
            value = bytes(view[offset:])
        elif kind == "json":
            value = json.loads(bytes(view[offset:]))
            if not isinstance(value, dict):
                raise TypeError(f"metadata is a {type(value).__name__}")
        else:
            raise CacheError(f"unknown cache value kind {kind!r}")
    except (ValueError, KeyError, TypeError) as error:  # a blob with a valid CRC but made up
        raise CacheError(f"malformed cache value: {error!r}") from error
    return Decoded(value, expires_at)


def _array_parts(array: NDArray[Any]) -> tuple[dict[str, Any], memoryview]:
    if array.dtype.hasobject:
        raise CacheError(f"cannot cache arrays of dtype {array.dtype}: object arrays need pickle")
    header = {"kind": "ndarray", "dtype": npy_format.dtype_to_descr(array.dtype), "shape": list(array.shape)}
    # Viewing as bytes works for every dtype; the buffer protocol refuses datetime64.
    flat = np.ascontiguousarray(array).reshape(-1)
    if not flat.dtype.itemsize:  # e.g. 'V0': no bytes to view
        return header, memoryview(b"")
    return header, flat.view(np.uint8).data


def _read_array(blob: Buffer, header: dict[str, Any], offset: int, size: int) -> NDArray[Any]:
    dtype = npy_format.descr_to_dtype(header["dtype"])
    shape = tuple(int(n) for n in header["shape"])
    if dtype.hasobject or any(n < 0 for n in shape):
        raise CacheError(f"refusing array header {header!r}")
    count = math.prod(shape)
    if size - offset != count * dtype.itemsize:
        raise CacheError("truncated cache value (array payload)")
    if count == 0 or dtype.itemsize == 0:
        array = np.empty(shape, dtype)
    else:
        array = np.frombuffer(blob, dtype=dtype, count=count, offset=offset).reshape(shape)
    array.flags.writeable = False
    return array


def _check_json(value: Any, path: str) -> None:
    """Refuse what JSON would not give back unchanged (tuples, non-str keys, numpy scalars)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CacheError(f"metadata{path}: keys must be str, not {key!r}")
            _check_json(item, f"{path}.{key}")
    else:
        raise CacheError(f"metadata{path}: {type(value).__name__} is not a JSON value")
