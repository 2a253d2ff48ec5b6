"""SQL fragments: text with the parameters of its `?` placeholders, built only from fixed templates.

Every user value reaches SQLite as a parameter (`P`); the text is assembled from templates (`fmt`) and
the boolean combinators below, which fold constants and order AND/OR operands so that SQLite 3.40's
fixed parser stack (100 entries) goes as far as it can.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .. import json_codec

#: The values of `json_type`, in the order `case_type` lists its branches.
JSON_TYPES = ("null", "true", "false", "integer", "real", "text", "array", "object")
#: MongoDB's comparison operators as SQL's.
COMPARISONS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_LONG_IN = 32


class Sql:
    """SQL text with the parameters of its `?` placeholders, in order."""

    __slots__ = ("_depth", "params", "text")

    def __init__(self, text: str, params: Sequence[Any] = ()) -> None:
        self.text = text
        self.params = tuple(params)
        self._depth: int | None = None

    @property
    def depth(self) -> int:
        """About how much of SQLite 3.40's parser stack (100 entries) the text needs."""
        if self._depth is None:
            depth = deepest = 0
            for token in _NESTING.findall(self.text):
                if token in _NESTING_COST:
                    depth += _NESTING_COST[token]
                    deepest = max(deepest, depth)
                else:
                    depth -= _NESTING_COST["(" if token == ")" else "CASE"]
            self._depth = deepest
        return self._depth

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sql) and self.text == other.text and self.params == other.params

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"Sql({self.text!r}, {self.params!r})"


class P:
    """A value that enters the SQL as a `?` parameter."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


Part = Sql | P
_NESTING = re.compile(r"\(|\)|\bCASE\b|\bEND\b")
_NESTING_COST = {"(": 2, "CASE": 5}
TRUE, FALSE = Sql("1"), Sql("0")


def fmt(template: str, *parts: Part) -> Sql:
    """Fill each `{}` of a fixed template with a fragment or a parameter."""
    pieces = template.split("{}")
    if len(pieces) != len(parts) + 1:
        raise AssertionError(f"template {template!r} takes {len(pieces) - 1} parts, got {len(parts)}")
    text = [pieces[0]]
    params: list[Any] = []
    for part, piece in zip(parts, pieces[1:]):
        if isinstance(part, Sql):
            text.append(part.text)
            params.extend(part.params)
        else:
            text.append("?")
            params.append(part.value)
        text.append(piece)
    return Sql("".join(text), params)


def join(separator: str, parts: Iterable[Part]) -> Sql:
    parts = list(parts)
    return fmt(separator.join(["{}"] * len(parts)), *parts)


def _chain(operator: str, unit: Sql, zero: Sql, parts: Iterable[Sql]) -> Sql:
    items = list(dict.fromkeys(part for part in parts if part != unit))
    if zero in items:
        return zero
    if not items:
        return unit
    if len(items) == 1:
        return items[0]
    # SQLite's parser needs less stack for a deep left operand than for a deep right one
    deepest = max(range(len(items)), key=lambda i: items[i].depth)
    items.insert(0, items.pop(deepest))
    return fmt("(" + f" {operator} ".join(["{}"] * len(items)) + ")", *items)


def and_(*parts: Sql) -> Sql:
    return _chain("AND", TRUE, FALSE, parts)


def or_(*parts: Sql) -> Sql:
    return _chain("OR", FALSE, TRUE, parts)


def not_(part: Sql) -> Sql:
    """True where `part` is false or NULL (and `part` is evaluated with short-circuits)."""
    if part == TRUE:
        return FALSE
    if part == FALSE:
        return TRUE
    return fmt("CASE WHEN {} THEN 0 ELSE 1 END", part)


def exists(source: Sql, alias: str, condition: Sql) -> Sql:
    if condition == FALSE:
        return FALSE
    return fmt(f"EXISTS (SELECT 1 FROM {{}} AS {alias} WHERE {{}})", source, condition)


def case_type(type_sql: Sql, branches: Mapping[str, Sql]) -> Sql:
    """`CASE <json type> WHEN 'integer' THEN ... ELSE 0 END`, or lighter forms when they will do."""
    branches = {name: cond for name, cond in branches.items() if cond != FALSE}
    if not branches:
        return FALSE
    conds = set(branches.values())
    if len(conds) == 1:
        (cond,) = conds
        if len(branches) == len(JSON_TYPES):
            return fmt("({} IS NOT NULL)", type_sql) if cond == TRUE else and_(fmt("({} IS NOT NULL)", type_sql), cond)
        if "SELECT" not in cond.text:  # no subquery to guard: an AND is lighter on SQLite's parser stack
            names = ", ".join(f"'{name}'" for name in branches)
            test = f"({{}} = {names})" if len(branches) == 1 else f"({{}} IN ({names}))"
            return and_(fmt(test, type_sql), cond)
    parts: list[Part] = [type_sql]
    text = "CASE {}"
    for name, cond in branches.items():
        text += f" WHEN '{name}' THEN {{}}"
        parts.append(cond)
    return fmt(text + " ELSE 0 END", *parts)



def in_list(x: Sql, values: Sequence[Any]) -> Sql:
    """`x IN (...)`; a long list is one JSON parameter, whatever SQLite's limit on variables."""
    if not values:
        return FALSE
    if len(values) == 1:
        return fmt("({} = {})", x, P(values[0]))
    if len(values) > _LONG_IN:
        return fmt("({} IN (SELECT value FROM json_each({})))", x, P(json_codec.dumps(list(values))))
    return fmt("({} IN (" + ", ".join(["{}"] * len(values)) + "))", x, *(P(value) for value in values))



def compare(op: str, left: Any, right: Any) -> bool:
    """`left <op> right` in Python, for a MongoDB comparison operator of `COMPARISONS`."""
    return {"$gt": left > right, "$gte": left >= right, "$lt": left < right, "$lte": left <= right}[op]
