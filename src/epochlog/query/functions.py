"""The SQL functions compiled filters call, registered on every connection that runs them."""

from __future__ import annotations

import functools
import re
import sqlite3
from typing import Any

from . import nodes as ast
from .fragments import P, Sql, fmt
from .regex import compile_regex

REGEXP_FUNCTION = "epochlog_regexp"


def regexp_call(x: Sql, regex: ast.Regex | ast.RegexValue) -> Sql:
    """True where the text `x` holds a match of `regex` (0 for values that are not text)."""
    return fmt(f"{REGEXP_FUNCTION}({{}}, {{}}, {{}})", P(regex.pattern), P(regex.options), x)


@functools.lru_cache(maxsize=512)
def _pattern(pattern: str, options: str) -> re.Pattern[str]:
    return compile_regex(ast.RegexValue(pattern, options))


def _regexp(pattern: str, options: str, value: Any) -> int:
    if not isinstance(value, str):
        return 0
    return 1 if _pattern(pattern, options).search(value) else 0


def register_functions(connection: sqlite3.Connection) -> None:
    """Register on `connection` the SQL function compiled `$regex` filters call (`epochlog_regexp`)."""
    connection.create_function(REGEXP_FUNCTION, 3, _regexp, deterministic=True)
