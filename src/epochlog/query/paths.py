"""Where compiled SQL reads values from: JSON paths into a document's text, and `json_each` rows.

A `Ref` is the value at a JSON path inside some JSON text (usually the `doc` column), perhaps missing;
a `Row` is one row of `json_each` over an array or object. Both give the value's JSON type, the value,
a json_codec tag inside it, and the values under it, so the compiler treats them alike (`Handle`).
Keys a JSON path cannot spell exactly in SQLite 3.40 (quotes, backslashes, non-ASCII, control
characters) have no `Ref`: they are found with `json_each ... WHERE key = ?` (`member_row`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .fragments import P, Part, Sql, fmt, join

TAG_PREFIX = '{"$'  # json_codec's tagged scalars; stored documents never have '$' keys
_SAFE_KEY = re.compile(r'[ !#-\[\]-~]*')  # printable ASCII but '"' and '\': exact in a JSON path


class Path:
    """A JSON path as SQL: literal text (parameters) and the keys of `json_each` rows, concatenated."""

    __slots__ = ("pieces",)

    def __init__(self, *pieces: str | Sql) -> None:
        self.pieces = pieces

    def __add__(self, piece: str | Sql) -> Path:
        if isinstance(piece, str) and self.pieces and isinstance(self.pieces[-1], str):
            return Path(*self.pieces[:-1], self.pieces[-1] + piece)
        return Path(*self.pieces, piece)

    def sql(self, literal: bool = False) -> Sql:
        """The path as SQL: its text pieces as parameters, or as quoted literals (which an index can match)."""
        def text(piece: str) -> Part:
            return Sql("'" + piece.replace("'", "''") + "'") if literal else P(piece)
        return join(" || ", [text(piece) if isinstance(piece, str) else piece for piece in self.pieces])


ROOT = Path("$")


def json_key(key: str) -> str | None:
    """The JSON path step for `key`, or None if SQLite 3.40's paths cannot spell it exactly."""
    return '."' + key + '"' if _SAFE_KEY.fullmatch(key) else None


class Ref:
    """The value at `path` inside the JSON text `src` (usually `doc`); it may be missing. A `literal`
    reference spells its path in the SQL text, so that the expression can match an expression index."""

    __slots__ = ("literal", "path", "src")

    def __init__(self, src: Sql, path: Path | None = None, literal: bool = False) -> None:
        self.src = src
        self.path = path or ROOT
        self.literal = literal

    def _call(self, function: str, path: Path | None = None) -> Sql:
        return fmt(f"{function}({{}}, {{}})", self.src, (path or self.path).sql(self.literal))

    def type(self) -> Sql:
        return self._call("json_type")

    def value(self) -> Sql:
        return self._call("json_extract")

    def tag(self, name: str) -> Sql:
        """The JSON value inside a json_codec tag (`$date`, `$oid`, ...); NULL if it is not one."""
        return self._call("json_extract", self.path + f'."${name}"')

    def each(self) -> Sql:
        return self._call("json_each")

    def length(self) -> Sql:
        return self._call("json_array_length")

    def key(self, key: str) -> Ref | None:
        step = json_key(key)
        return None if step is None else Ref(self.src, self.path + step, self.literal)

    def index(self, index: int) -> Ref:
        return Ref(self.src, self.path + f"[{index}]", self.literal)

    def element(self, alias: str) -> Ref:
        """The element that row `alias` of `json_each(<this array>)` stands for."""
        # CAST: the key of a row of json_each over an object (which a guard has yet to rule out,
        # SQLite 3.40 evaluating both sides of AND) must still make a valid path
        return Ref(self.src, self.path + "[" + Sql(f"CAST({alias}.key AS INTEGER)") + "]", self.literal)


class Row:
    """A `json_each` row (`alias`): type and value read from its columns, the rest through `ref`."""

    __slots__ = ("alias", "ref")

    def __init__(self, alias: str, ref: Ref) -> None:
        self.alias = alias
        self.ref = ref

    def type(self) -> Sql:
        return Sql(f"{self.alias}.type")

    def value(self) -> Sql:
        return Sql(f"{self.alias}.value")

    def tag(self, name: str) -> Sql:
        return self.ref.tag(name)

    def each(self) -> Sql:
        return self.ref.each()

    def length(self) -> Sql:
        return self.ref.length()

    def key(self, key: str) -> Ref | None:
        return self.ref.key(key)

    def index(self, index: int) -> Ref:
        return self.ref.index(index)

    def element(self, alias: str) -> Ref:
        return self.ref.element(alias)


Handle = Ref | Row


def refs_along(first: Ref, rest: Sequence[str]) -> list[Ref]:
    """`first` and the value under each next key of `rest`, up to the first key a JSON path cannot name."""
    refs = [first]
    for key in rest:
        child = refs[-1].key(key)
        if child is None:
            break
        refs.append(child)
    return refs


def member_row(alias: str) -> Row:
    """A row found by key among an object's members: its value is read as JSON text of its own."""
    text = Sql(f"CASE WHEN {alias}.type IN ('object', 'array') THEN {alias}.value ELSE 'null' END")
    return Row(alias, Ref(text))


def is_(value: Handle, json_type: str) -> Sql:
    return fmt(f"({{}} = '{json_type}')", value.type())


def plain_object(value: Handle) -> Sql:
    """An object that is a document, not one of json_codec's tagged scalars (date, ObjectId, bytes, NaN)."""
    return fmt("(substr({}, 1, 3) <> {})", value.value(), P(TAG_PREFIX))



DOC = Ref(Sql("doc"))
DOC_LITERAL = Ref(Sql("doc"), literal=True)


def array_index(key: str) -> int | None:
    """The array offset a path key names ("0", "12"; not "01": MongoDB compares the text)."""
    if key.isascii() and key.isdigit() and str(int(key)) == key:
        return int(key)
    return None

