"""MongoDB regular expressions (a pattern and option letters) as Python's, for filters and `$regex` in SQL."""

from __future__ import annotations

import re
from typing import Any

from bson.regex import Regex as BsonRegex

from ..errors import QueryError
from .nodes import Regex, RegexValue

_REGEX_OPTIONS = "imsux"
_PY_FLAG_LETTERS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"), (re.VERBOSE, "x"))
_PY_FLAGS_ALLOWED = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE | re.UNICODE


def regex_flags(options: str) -> int:
    """Python `re` flags for MongoDB regex option letters."""
    flags = 0
    for flag, letter in _PY_FLAG_LETTERS:
        if letter in options:
            flags |= flag
    return flags


def option_letters(flags: int) -> str:
    """MongoDB's option letters for Python `re` flags (those MongoDB knows: re.UNICODE, implied, is left out)."""
    return "".join(letter for flag, letter in _PY_FLAG_LETTERS if flags & flag)


def compile_regex(value: RegexValue | Regex) -> re.Pattern[str]:
    try:
        return re.compile(value.pattern, regex_flags(value.options))
    except re.error as error:
        raise QueryError(f"$regex {value.pattern!r} is not a valid regular expression: {error}") from None



def regex_value(operand: Any, options: Any) -> RegexValue:
    """A `$regex` operand (a string, a compiled Python pattern, a BSON Regex) with `$options`, checked."""
    if options is not None and not isinstance(options, str):
        raise QueryError(f"$options must be a string, got {options!r}")
    letters = options or ""
    if isinstance(operand, re.Pattern):
        if not isinstance(operand.pattern, str):
            raise QueryError("$regex needs a str pattern, not bytes")
        if operand.flags & ~_PY_FLAGS_ALLOWED:
            raise QueryError(f"$regex: Python regex flags {operand.flags!r} have no MongoDB equivalent")
        pattern = operand.pattern
        letters += option_letters(operand.flags)
    elif isinstance(operand, BsonRegex):
        pattern = operand.pattern
        flags = operand.flags
        letters += flags if isinstance(flags, str) else option_letters(flags)
    elif isinstance(operand, str):
        pattern = operand
    else:
        raise QueryError(f"$regex needs a string or a compiled pattern, got {operand!r}")
    unknown = set(letters) - set(_REGEX_OPTIONS)
    if unknown:
        raise QueryError(f"$regex: invalid option(s) {''.join(sorted(unknown))!r} (MongoDB accepts i, m, s, u, x)")
    if "\x00" in pattern:
        raise QueryError("$regex: the pattern contains a NUL character")
    value = RegexValue(pattern, "".join(sorted(set(letters) - {"u"})))
    compile_regex(value)
    return value

