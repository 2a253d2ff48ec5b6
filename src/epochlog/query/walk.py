"""MongoDB's walk of a dotted path through a document, as SQL: one walker for filters and sort keys alike.

A path is walked the way MongoDB's ElementPath iterator does (docs/QUERY.md): through documents key by
key, and through arrays (how depends on the walker: a filter also takes a numeric key as an offset
alongside, a sort key takes the element at that offset instead). Each way the path can run through a
document is a `Route`, the `json_each` tables and conditions gathered on the way, ending at a value
(`end`), at nothing (`absent`) or at an array along the path (`through_array`); the walker returns
one SQL item per route, which a filter ORs together and a sort key UNIONs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Generic, TypeVar

from .fragments import FALSE, TRUE, P, Sql, and_, fmt
from .paths import Handle, Ref, is_, member_row, refs_along

#: What the walker looks for at the end of the path (a filter's predicate).
Target = TypeVar("Target")


class Route:
    """The `json_each` tables and conditions a way through a document has gathered so far; conditions
    gathered before the first table stay outside the `EXISTS`, so they are checked first."""

    __slots__ = ("inner", "joins", "outer")

    def __init__(self, joins: tuple[tuple[Sql, str], ...] = (), outer: tuple[Sql, ...] = (),
                 inner: tuple[Sql, ...] = ()) -> None:
        self.joins = joins
        self.outer = outer
        self.inner = inner

    def join(self, source: Sql, alias: str) -> Route:
        return Route(self.joins + ((source, alias),), self.outer, self.inner)

    def where(self, *conds: Sql) -> Route:
        if self.joins:
            return Route(self.joins, self.outer, self.inner + conds)
        return Route(self.joins, self.outer + conds, self.inner)

    def sql(self, final: Sql) -> Sql:
        if not self.joins:
            return and_(*self.outer, final)
        condition = and_(*self.inner, final)
        if condition == FALSE:
            return FALSE
        tables = ", ".join(f"{{}} AS {alias}" for _, alias in self.joins)
        found = fmt(f"EXISTS (SELECT 1 FROM {tables} WHERE {{}})", *(source for source, _ in self.joins), condition)
        guard = and_(*self.outer)
        # the cheap guard first (a WHERE evaluates AND with short-circuits); a CASE would need more
        # parser stack, and an unguarded json_each is harmless (paths stay valid), just slower
        return found if guard == TRUE else fmt("({} AND {})", guard, found)



class PathWalker(ABC, Generic[Target]):
    """The routes of a path from a document; subclasses say what a route yields. Aliases of `json_each`
    tables are numbered across the walker's lifetime, so that nested walks never reuse one."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._aliases = 0

    def alias(self) -> str:
        self._aliases += 1
        return f"{self._prefix}{self._aliases}"

    @abstractmethod
    def end(self, value: Handle, target: Target, route: Route, guards: Sequence[Sql]) -> list[Sql]:
        """The path ends at `value`: a `Row` is present; a `Ref` may be missing, `guards` holding where
        no key above it held an array."""

    @abstractmethod
    def keeps_missing(self, target: Target) -> bool:
        """Whether routes where the path is missing count (`absent`)."""

    @abstractmethod
    def absent(self, route: Route, *conds: Sql) -> Sql:
        """The route on which the path is missing, where `conds` hold."""

    @abstractmethod
    def through_array(self, array: Ref, rest: Sequence[str], target: Target, route: Route) -> list[Sql]:
        """Routes for `rest` (not empty) through the array at `array`."""

    def from_object(self, obj: Ref, path: Sequence[str], target: Target, route: Route) -> list[Sql]:
        """Routes for `path` from the document at `obj` (MongoDB's getFieldDottedOrArray onwards)."""
        first = obj.key(path[0])
        if first is None:
            return self.member(obj, path, target, route)
        return self.chain(first, path[1:], target, route)

    def chain(self, first: Ref, rest: Sequence[str], target: Target, route: Route) -> list[Sql]:
        """Routes from `first` (the value under a path's first key, perhaps missing) on through `rest`:
        the value the keys lead to, the path being missing, or an array at one of the keys."""
        refs = refs_along(first, rest)
        routes: list[Sql] = []
        not_arrays = [fmt("({} IS NOT 'array')", ref.type()) for ref in refs[:len(rest)]]
        if len(refs) > len(rest):
            routes += self.end(refs[-1], target, route, not_arrays)
        else:  # stopped at a key only json_each can find
            holder = refs[-1]
            routes += self.member(holder, rest[len(refs) - 1:], target, route.where(is_(holder, "object")))
            if self.keeps_missing(target):
                routes.append(self.absent(route, fmt("({} IS NOT 'object')", holder.type()), *not_arrays))
        for i, ref in enumerate(refs[:len(rest)]):
            routes += self.through_array(ref, rest[i:], target, route.where(is_(ref, "array")))
        return routes

    def member(self, obj: Ref, path: Sequence[str], target: Target, route: Route) -> list[Sql]:
        """Routes through the member of `obj` named `path[0]`, found with `json_each ... WHERE key = ?`."""
        key, rest = path[0], path[1:]
        alias = self.alias()
        row = member_row(alias)
        inner = route.join(obj.each(), alias).where(fmt(f"({alias}.key = {{}})", P(key)))
        if not rest:
            routes = self.end(row, target, inner, ())
        else:
            routes = self.from_object(row.ref, rest, target, inner.where(is_(row, "object")))
            routes += self.through_array(row.ref, rest, target, inner.where(is_(row, "array")))
        if self.keeps_missing(target):
            if rest:
                routes.append(self.absent(inner, fmt(f"({alias}.type NOT IN ('object', 'array'))")))
            other = self.alias()
            routes.append(self.absent(route, fmt(f"NOT EXISTS (SELECT 1 FROM {{}} AS {other} WHERE {other}.key = {{}})",
                                                 obj.each(), P(key))))
        return routes
