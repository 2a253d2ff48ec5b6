"""The two places epochlog reaches into a library's private API for speed, each checked at import against the
public API it stands for, which replaces it when the check fails (a newer bson or CPython changed the private
part):

- `objectid_from_bytes`: an ObjectId made by setting bson's private slot, without the type dispatch of
  `ObjectId.__init__` (a third of the time of reading an id; every logged epoch makes one);
- `json_encoder(default)`: one C encoder of the json module (`c_make_encoder`), made once and kept for every
  document (`json.dumps` makes a new one on each call).

`ACTIVE` names those in use; the test suite checks that both are, on every Python it runs on.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable, Iterable
from typing import Any

from bson import ObjectId

Encoder = Callable[[Any], Iterable[str]]
_new = object.__new__


def _objectid_in_slot(binary: bytes) -> ObjectId:
    oid = _new(ObjectId)
    oid._ObjectId__id = binary  # type: ignore[attr-defined]
    return oid


def _same_objectids(make: Callable[[bytes], ObjectId]) -> bool:
    binary = bytes(range(1, 13))
    try:
        made, public = make(binary), ObjectId(binary)
        return (made == public and made.binary == binary and str(made) == str(public) and hash(made) == hash(public)
                and ObjectId(str(made)) == made and made.generation_time == public.generation_time)
    except Exception:
        return False


def _public_encoder(default: Callable[[Any], Any]) -> Encoder:
    return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=default).iterencode


def _c_encoder(default: Callable[[Any], Any]) -> Encoder | None:
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the json module's C accelerator
        return None
    try:  # no circular-reference markers: the documents it is given have no cycles (normalize_document)
        encode = make(None, default, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    except Exception:
        return None
    return lambda value: encode(value, 0)  # type: ignore[no-any-return]


def _bytes_as_hex(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(type(value).__name__)


def _c_json_agrees() -> bool:
    """Whether the C encoder writes a sample of every JSON type (and one `default` converts) as the public one."""
    sample: dict[str, Any] = {"a": [1, -2.5, 1e300, True, False, None, "é\n\"\\", {"b": []}], "": {},
                              "c": ("tuple",), "d": b"x"}
    fast = _c_encoder(_bytes_as_hex)
    try:
        return fast is not None and "".join(fast(sample)) == "".join(_public_encoder(_bytes_as_hex)(sample))
    except Exception:
        return False


_C_JSON = _c_json_agrees()


def json_encoder(default: Callable[[Any], Any]) -> Encoder:
    """An encoder of a value to pieces of compact JSON text (non-ASCII kept, NaN and infinities as Python's
    json writes them), `default` converting what JSON has no type for: the C one if it passed its check."""
    fast = _c_encoder(default) if _C_JSON else None
    return fast if fast is not None else _public_encoder(default)


objectid_from_bytes: Callable[[bytes], ObjectId] = (
    _objectid_in_slot if _same_objectids(_objectid_in_slot) else ObjectId)
ACTIVE = frozenset(name for name, active in (("objectid_from_bytes", objectid_from_bytes is _objectid_in_slot),
                                             ("json_encoder", _C_JSON)) if active)
