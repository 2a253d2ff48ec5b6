"""A pipeline's `$group` in SQL on the embedded store, for the groups SQL answers exactly as MongoDB does.

Taken: `_id` null (or another constant), `"$path"` or `{name: "$path", ...}`, and accumulators `$sum` (of a
path or an integer), `$avg`, `$min` and `$max` of a path, and `$count`, over dotted paths that never held an
array. Groups come in the order of their first document, as the Python stage gives them. Each group is
checked in the same query, and the whole stage is left to Python (None) as soon as one is not plain: a key
of numbers stored as both integers and reals (which one MongoDB shows is the first document's), a key that
is a document, binary data or NaN, a composite key with a null or missing part (MongoDB tells those apart
there), NaN or an infinity in a `$sum` or `$avg`, a value other than a number or null in a `$min` or
`$max`, an integer sum past 64 bits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from ..query.sort_key import BINARY, NULL_RANK, NUMBER, OBJECT
from ..types import Document
from .sqlite_groups import decoded_key_part, path_columns

_LARGEST = "1.7976931348623157e308"
_ACCUMULATORS = ("$sum", "$avg", "$min", "$max", "$count")


class GroupStage:
    """The SQL of one `$group` over `table`; not `usable` when the stage is not of the plain kind."""

    def __init__(self, table: str, spec: Mapping[str, Any], arrays: frozenset[str]) -> None:
        self.table = table
        self.usable = False
        key = spec.get("_id")
        self.key_names: list[str] | None = None  # the fields of a document key; None for "$path" or a constant
        if isinstance(key, str) and key.startswith("$"):
            key_paths = [key[1:]]
        elif isinstance(key, Mapping) and key and all(isinstance(item, str) and item.startswith("$")
                                                      for item in key.values()):
            self.key_names, key_paths = list(key), [item[1:] for item in key.values()]
        elif key is None or isinstance(key, (bool, int, float)) or (isinstance(key, str) and key):
            key_paths = []
        else:
            return
        self.constant = key if not key_paths else None
        self.outputs: list[tuple[str, str, str | int | None]] = []  # (field, accumulator, path or integer)
        for field, accumulator in spec.items():
            if field == "_id":
                continue
            if not isinstance(accumulator, Mapping) or len(accumulator) != 1:
                return
            (name, argument), = accumulator.items()
            if name not in _ACCUMULATORS or "." in field or field.startswith("$"):
                return
            if name == "$count" and argument == {}:
                self.outputs.append((field, name, None))
            elif name == "$sum" and type(argument) is int:
                self.outputs.append((field, name, argument))
            elif name != "$count" and isinstance(argument, str) and argument.startswith("$"):
                self.outputs.append((field, name, argument[1:]))
            else:
                return
        paths = [*key_paths, *(argument for _, _, argument in self.outputs if isinstance(argument, str))]
        columns = {path: path_columns(path, arrays) for path in paths}
        if any(column is None for column in columns.values()):
            return
        self.columns: dict[str, tuple[str, str]] = {path: column for path, column in columns.items()
                                                    if column is not None}
        self.key_paths = key_paths
        self.usable = True

    def run(self, db: sqlite3.Connection, where: str, params: Sequence[Any]) -> list[Document] | None:
        """The groups' documents, or None where Python must answer (see the module doc)."""
        select = ["min(rowid)", "count(*)"]
        for path in self.key_paths:
            rank, value = self.columns[path]
            select += [rank, value, f"count(DISTINCT typeof({value}))"]
        for _, name, argument in self.outputs:
            if isinstance(argument, str):
                select += self._accumulated(name, *self.columns[argument])
        group = f" GROUP BY {', '.join(part for path in self.key_paths for part in self.columns[path])}" \
            if self.key_paths else ""
        try:
            rows = db.execute(f"SELECT {', '.join(select)} FROM {self.table} WHERE {where}{group} "
                              "ORDER BY min(rowid)", list(params)).fetchall()
        except sqlite3.OperationalError as error:
            if "integer overflow" in str(error):  # MongoDB's sum goes on as a double
                return None
            raise
        documents = []
        for row in rows:
            if not row[1]:  # no documents, no group (an aggregate without GROUP BY gives a row of nothing)
                continue
            document = self._document(list(row[2:]), row[1])
            if document is None:
                return None
            documents.append(document)
        return documents

    @staticmethod
    def _accumulated(name: str, rank: str, value: str) -> list[str]:
        number = f"iif({rank} = {NUMBER}, {value}, NULL)"
        if name in ("$sum", "$avg"):  # the number, how many NaN (a NULL value), how many infinities
            return [f"{name[1:]}({number})", f"count(iif({rank} = {NUMBER} AND {value} IS NULL, 1, NULL))",
                    f"count(iif({rank} = {NUMBER} AND abs({value}) > {_LARGEST}, 1, NULL))"]
        return [f"{name[1:]}({number})", f"count(iif({rank} = {NUMBER} AND {value} IS NULL, 1, NULL))",
                f"count(iif({rank} NOT IN ({NULL_RANK}, {NUMBER}), 1, NULL))"]

    def _document(self, cells: list[Any], count: int) -> Document | None:
        parts = []
        for _ in self.key_paths:
            rank, value, types = cells[:3]
            del cells[:3]
            if rank in (OBJECT, BINARY) or types > 1 or (rank == NUMBER and value is None) or \
                    (self.key_names is not None and rank == NULL_RANK):
                return None
            parts.append(decoded_key_part(rank, value))
        if self.key_names is not None:
            document: Document = {"_id": dict(zip(self.key_names, parts))}
        else:
            document = {"_id": parts[0] if parts else self.constant}
        for field, name, argument in self.outputs:
            if not isinstance(argument, str):
                document[field] = count if argument is None else count * argument
                continue
            result, nans, other = cells[:3]
            del cells[:3]
            if nans or other:  # NaN or infinities in a sum or mean; NaN or non-numbers in min or max
                return None
            document[field] = (0 if result is None else result) if name == "$sum" else \
                (None if result is None else float(result)) if name == "$avg" else result
        return document
