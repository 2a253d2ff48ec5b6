"""Indexes users add for the fields they rank, search and group by: their keys checked once for every backend.

epochlog creates the indexes in `schema.INDEXES` itself (its *own* indexes). Any other index is a user's:
`Tracker.create_index` (`epochlog index add`) makes it on every backend, and only those can be dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .. import schema
from ..errors import InvalidArgument, NotFound
from ..types import IndexSpec

#: The collections users may index: the documents epochlog stores for them (series, blobs and console are
#: its own tables, read only by the keys it indexes already).
INDEXABLE = (schema.EXPERIMENTS, schema.EPOCHS, schema.CHECKPOINTS, schema.SUBJECTS)
MAX_KEYS = 16
_PATH = re.compile(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*")


@dataclass(frozen=True)
class IndexInfo:
    """One index of a collection: its name, keys, whether it is unique, and whether it is epochlog's own."""

    name: str
    keys: tuple[tuple[str, int], ...]
    unique: bool = False
    builtin: bool = False

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "keys": [list(key) for key in self.keys], "unique": self.unique,
                "builtin": self.builtin}


def index_spec(collection: str, keys: Iterable[str | tuple[str, int]]) -> IndexSpec:
    """The index on `keys` (paths, or (path, 1 | -1) pairs; `"path:-1"` for descending), or InvalidArgument
    naming the key at fault."""
    check_collection(collection)
    pairs: list[tuple[str, int]] = []
    for key in keys:
        path, direction = parse_key(key) if isinstance(key, str) else _pair(key)
        if not _PATH.fullmatch(path):
            raise InvalidArgument(f"index key {path!r}: a dotted path of letters, digits and '_' is needed")
        if path in (existing for existing, _ in pairs):
            raise InvalidArgument(f"index key {path!r} is named twice")
        pairs.append((path, direction))
    if not pairs or len(pairs) > MAX_KEYS:
        raise InvalidArgument(f"an index has 1 to {MAX_KEYS} keys, got {len(pairs)}")
    return IndexSpec(tuple(pairs))


def parse_key(text: str) -> tuple[str, int]:
    """`"metrics.best_val_acc"` -> (path, 1); `"metrics.best_val_acc:-1"` -> (path, -1)."""
    path, colon, direction = text.partition(":")
    if colon and direction not in ("1", "-1"):
        raise InvalidArgument(f"index key {text!r}: the direction after ':' is 1 or -1")
    return path, int(direction) if colon else 1


def check_collection(collection: str) -> None:
    if collection not in INDEXABLE:
        raise InvalidArgument(f"indexes are for the collections {', '.join(INDEXABLE)}; got {collection!r}")


def builtin(collection: str) -> list[IndexSpec]:
    """epochlog's own indexes of `collection`."""
    return list(schema.INDEXES.get(collection, ()))


def check_droppable(collection: str, name: str) -> None:
    """InvalidArgument unless `name` may be a user's index of `collection` (epochlog's own stay)."""
    check_collection(collection)
    if name == "_id_" or any(spec.name == name for spec in builtin(collection)):
        raise InvalidArgument(f"{collection} index {name!r} is one of epochlog's own: it cannot be dropped")


def missing_index(collection: str, name: str) -> NotFound:
    return NotFound(f"{collection} has no index named {name!r} (see `epochlog index ls`)")


def _pair(key: Sequence[object]) -> tuple[str, int]:
    if isinstance(key, (tuple, list)) and len(key) == 2 and isinstance(key[0], str) \
            and type(key[1]) is int and key[1] in (1, -1):
        return key[0], key[1]
    raise InvalidArgument(f"index key {key!r}: a path, or a (path, 1 or -1) pair")
