"""`group_stats` in SQL on the embedded store: per group of experiments, how many runs there are and of a metric's
finite values the count, sum, sum of squares, extremes and best run.

Two aggregate queries over the same groups in the same order, one of them taking the best value with its row,
the other the sums and the worst value; an index holding the grouping paths and then the metric
(`epochlog index add`) lets both read the index alone. Groups whose sums are too imprecise for the spread get
their values read again, from the same index. `TallyCache` keeps the answers while the file is unchanged, so a
dashboard asking again between two writes is answered without a scan.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from bson import ObjectId

from .. import json_codec
from ..documents import millis_to_date
from ..finite_numbers import LARGEST_FLOAT
from ..groups import Tally, canonical
from ..query.sort_key import (BINARY, BOOL, DATE, NULL_RANK, NUMBER, OBJECT, OBJECT_ID, STRING, array_free,
                              scalar_ref, sort_rank, sort_value)
from ..summary_stats import sums_precise

_LARGEST = repr(LARGEST_FLOAT)  # as SQL text


class GroupQuery:
    """The SQL grouping `table`'s documents by `paths` and summarizing `metric`; not `usable` when a path is not
    a plain dotted path or some document has held an array on one."""

    def __init__(self, table: str, paths: Sequence[str], metric: str, mode: str, arrays: frozenset[str],
                 index: str | None) -> None:
        self.mode = mode
        columns = [path_columns(path, arrays) for path in [*paths, metric]]
        self.usable = all(column is not None for column in columns)
        if not self.usable:
            return
        self.paths = list(paths)
        self.keys = [part for pair in columns[:-1] for part in pair]  # type: ignore[union-attr]
        rank, value = columns[-1]  # type: ignore[misc]
        self.value = f"iif({rank} = {NUMBER} AND {value} BETWEEN -{_LARGEST} AND {_LARGEST}, {value}, NULL)"
        self.source = f"FROM {table}" + (f" INDEXED BY {index}" if index else "")
        self.table = table

    def tallies(self, db: sqlite3.Connection, where: str, params: Sequence[Any]) -> list[Tally] | None:
        """The groups' tallies, or None if a key cannot be told apart in SQL (NaN: the Python path groups it)."""
        group = ", ".join(self.keys)
        # Each query scans every group from the extreme it takes (an index on the paths, then the metric, holds
        # them in that order): SQLite reads the selected and ORDER BY columns again at each new extreme, from the
        # document where the index lacks them, so here only once a group. The second scans the groups backwards;
        # the counts of runs line the two up.
        def tail(order: str) -> str:
            return f"{self.source} WHERE {where} GROUP BY {group} ORDER BY " + \
                ", ".join(f"{key} {order}" for key in self.keys)
        best, worst = ("min", "max") if self.mode == "min" else ("max", "min")
        forwards, backwards = ("ASC", "DESC") if self.mode == "min" else ("DESC", "ASC")
        v = self.value
        heads = db.execute(f"SELECT {group}, {best}({v}), rowid, count(*), count({v}), total({v}), total({v} * {v}) "
                           f"{tail(forwards)}", params).fetchall()
        others = db.execute(f"SELECT {worst}({v}), count(*) {tail(backwards)}", params).fetchall()[::-1]
        width = len(self.keys)
        if len(heads) != len(others) or any(head[width + 2] != other[1] for head, other in zip(heads, others)):
            return None
        keys = []
        for head in heads:
            key = _key(self.paths, head[:width])
            if key is None:
                return None
            keys.append(key)
        names = self._names(db, [head[width + 1] for head in heads if head[width] is not None])
        tallies = []
        for key, head, (other, _) in zip(keys, heads, others):
            top, runs, n, total, squares = head[width], head[width + 2], head[width + 3], head[width + 4], head[width + 5]
            low, high = (top, other) if self.mode == "min" else (other, top)
            values: list[float] | None = [] if not n else None
            if n and (not sums_precise(n, total, squares, low, high) or  # or it may merge: see groups_of_tallies
                      any(isinstance(value, dict) for value in key.values())):
                values = self._values(db, where, params, head[:width])
            best_id, best_name = names.get(head[width + 1], (None, None)) if top is not None else (None, None)
            tallies.append(Tally(key, runs, n, float(total), float(squares), _float(low), _float(high), best_id,
                                 best_name, _float(top), values))
        return tallies

    def member_loader(self, read: Callable[[str, list[Any]], list[Any]], where: str,
                      params: Sequence[Any]) -> Callable[[], dict[Any, list[ObjectId]]]:
        """What reads every group's experiment ids, when they are first asked for."""
        def load() -> dict[Any, list[ObjectId]]:
            members: dict[Any, list[ObjectId]] = {}
            width = len(self.keys)
            for row in read(f"SELECT {', '.join(self.keys)}, id {self.source} WHERE {where} ORDER BY rowid",
                            list(params)):
                members.setdefault(canonical(_key(self.paths, row[:width])), []).append(ObjectId(row[width]))
            return members
        return load

    def _names(self, db: sqlite3.Connection, rows: list[int]) -> dict[int, tuple[ObjectId, Any]]:
        found = db.execute(f"SELECT rowid, id, json_extract(doc, '$.experiment_name') FROM {self.table} "
                           "WHERE rowid IN (SELECT value FROM json_each(?))", (json_codec.dumps(rows),)).fetchall()
        return {row: (ObjectId(oid), name) for row, oid, name in found}

    def _values(self, db: sqlite3.Connection, where: str, params: Sequence[Any], key: Sequence[Any]) -> list[float]:
        same = " AND ".join(f"{column} IS ?" for column in self.keys)
        rows = db.execute(f"SELECT {self.value} AS v {self.source} WHERE ({where}) AND {same} AND v IS NOT NULL",
                          [*params, *key]).fetchall()
        return [float(row[0]) for row in rows]


class TallyCache:
    """The tallies of the last few group queries, each for as long as the database is as it was when they were
    computed: unchanged by this connection (`total_changes`) and by every other one, of any process
    (`PRAGMA data_version`, read in the query's snapshot)."""

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._entries: dict[Hashable, tuple[tuple[int, int], list[Tally]]] = {}

    @staticmethod
    def version(db: sqlite3.Connection) -> tuple[int, int]:
        """Which state of the database `db`'s open read transaction sees."""
        return int(db.execute("PRAGMA data_version").fetchone()[0]), db.total_changes

    def get(self, question: Hashable, version: tuple[int, int]) -> list[Tally] | None:
        """The tallies of `question` at `version`, if known (shared: `groups_of_tallies` copies what it hands out)."""
        entry = self._entries.get(question)
        return entry[1] if entry is not None and entry[0] == version else None

    def put(self, question: Hashable, version: tuple[int, int], tallies: list[Tally]) -> None:
        self._entries.pop(question, None)
        if len(self._entries) >= self._size:
            del self._entries[next(iter(self._entries))]  # the oldest
        self._entries[question] = (version, tallies)


def path_columns(path: str, arrays: frozenset[str]) -> tuple[str, str] | None:
    """The SQL of a dotted path's (rank, value) sort key, or None for a path that is not plain or has held an
    array."""
    steps = path.split(".")
    ref = scalar_ref(steps)
    if ref is None or not array_free(steps, arrays):
        return None
    return sort_rank(ref).text, sort_value(ref).text


def _key(paths: Sequence[str], columns: Sequence[Any]) -> dict[str, Any] | None:
    key = {}
    for index, path in enumerate(paths):
        rank, value = columns[2 * index], columns[2 * index + 1]
        if rank == NUMBER and value is None:  # NaN: one group in MongoDB, None to SQL
            return None
        key[path] = decoded_key_part(rank, value)
    return key


def decoded_key_part(rank: int, value: Any) -> Any:
    """A value back from its sort key (rank, value within the rank)."""
    if rank == NULL_RANK:
        return None
    if rank in (NUMBER, STRING):
        return value
    if rank == BOOL:
        return bool(value)
    if rank == DATE:
        return millis_to_date(value)
    if rank == OBJECT_ID:
        return ObjectId(value)
    if rank in (OBJECT, BINARY):
        return json_codec.loads(value)
    raise AssertionError(f"no sort key of rank {rank} outside arrays")


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
