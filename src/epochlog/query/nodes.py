"""The filter AST: logical nodes over `Field(path, pred)` leaves, frozen dataclasses every backend shares.

A `Field` means what MongoDB's path matching means: *some* value the path reaches satisfies `pred`
(array elements and the array itself included, see docs/QUERY.md). Negations are nodes of their own,
outside the leaf: `{a: {$ne: 1}}` is `Not(Field(a, Eq(1)))`, so a document matches when *no* value of
`a` equals 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any



@dataclass(frozen=True)
class Const:
    """Matches every document (True) or none (False)."""

    value: bool


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Nor:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class Field:
    """Some value reached by `path` (a tuple of keys) satisfies `pred`."""

    path: tuple[str, ...]
    pred: Pred


@dataclass(frozen=True)
class RegexValue:
    """A regular expression used as a value: `pattern` with MongoDB option letters (sorted)."""

    pattern: str
    options: str = ""


@dataclass(frozen=True)
class Eq:
    """Equal to `value` (None also matches a missing field; dicts compare with key order)."""

    value: Any


@dataclass(frozen=True)
class Cmp:
    """`$gt`, `$gte`, `$lt` or `$lte` against `value`, only within its type bracket."""

    op: str
    value: Any


@dataclass(frozen=True)
class In:
    """Equal to one of `values`; a RegexValue among them matches strings it finds."""

    values: tuple[Any, ...]


@dataclass(frozen=True)
class Exists:
    """The path reaches a value (any value, null included)."""


@dataclass(frozen=True)
class Regex:
    """A string the regular expression finds a match in."""

    pattern: str
    options: str = ""


@dataclass(frozen=True)
class Size:
    """An array of exactly `n` elements."""

    n: int


@dataclass(frozen=True)
class Type:
    """A value whose BSON type is one of `names` (canonical aliases: "double", "string", ...)."""

    names: frozenset[str]


@dataclass(frozen=True)
class Mod:
    """A number whose integer part modulo `divisor` is `remainder` (C semantics: sign of the dividend)."""

    divisor: int
    remainder: int


@dataclass(frozen=True)
class ElemMatchDoc:
    """An array with an element (a document, or an array seen as one) that matches `filter`."""

    filter: Node


@dataclass(frozen=True)
class ElemMatchValue:
    """An array with an element that satisfies `test` (operators applied to the element itself)."""

    test: ValueTest


@dataclass(frozen=True)
class ValueAnd:
    """All of `tests` hold for one value (only inside `$elemMatch`'s value form)."""

    tests: tuple[ValueTest, ...]


@dataclass(frozen=True)
class ValueNot:
    """`test` does not hold for one value (only inside `$elemMatch`'s value form)."""

    test: ValueTest


Pred = Eq | Cmp | In | Exists | Regex | Size | Type | Mod | ElemMatchDoc | ElemMatchValue
ValueTest = Pred | ValueAnd | ValueNot
Node = Const | And | Or | Nor | Not | Field

TRUE, FALSE = Const(True), Const(False)


def pred_missing(pred: Pred) -> bool:
    """Whether a missing value satisfies `pred` (MongoDB: equality with null, $gte/$lte null)."""
    if isinstance(pred, Eq):
        return pred.value is None
    if isinstance(pred, In):
        return any(value is None for value in pred.values)
    if isinstance(pred, Cmp):
        return pred.value is None and pred.op in ("$gte", "$lte")
    return False
