"""Aggregation expressions evaluated in Python with MongoDB's semantics: `evaluate(expression, variables)`.

An expression is a field path (`"$a.b"`, through arrays element by element, numeric keys being field
names), a variable (`"$$ROOT"`, `"$$CURRENT"`, `"$$REMOVE"`, `$filter`/`$map`'s `"$$this"`), an operator
document (`{"$add": [...]}`), a document or array of expressions, or a constant. An operator this
module does not know is refused with a QueryError naming it, never answered some other way; so are
operands MongoDB would refuse (`$add` of a string, `$size` of a number).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...errors import QueryError
from . import arithmetic, conversions, strings
from .arguments import as_array, as_integer
from .values import MISSING, compare, equal, is_nullish, truthy, type_name

Variables = dict[str, Any]
_Operator = Callable[[Any, Variables], Any]
#: Operators that run code: refused wherever they appear, on every backend.
CODE_OPERATORS = frozenset({"$where", "$function", "$accumulator"})


def root_variables(document: Any) -> Variables:
    return {"ROOT": document, "CURRENT": document}


def evaluate(expression: Any, variables: Variables) -> Any:
    """The value of `expression` for the document in `variables` (MISSING where nothing is reached)."""
    if isinstance(expression, str):
        if expression.startswith("$$"):
            return _variable(expression[2:], variables)
        if expression.startswith("$"):
            return field_path(variables["CURRENT"], expression[1:])
        return expression
    if isinstance(expression, Mapping):
        operator = operator_of(expression)
        if operator is not None:
            handler = OPERATORS.get(operator)
            if handler is None:
                raise QueryError(_unsupported(operator))
            return handler(expression[operator], variables)
        result = {}
        for key, item in expression.items():
            value = evaluate(item, variables)
            if value is not MISSING:
                result[key] = value
        return result
    if isinstance(expression, (list, tuple)):
        return [_in_array(evaluate(item, variables)) for item in expression]
    return expression


def operator_of(expression: Mapping[str, Any]) -> str | None:
    """The operator of an operator document (`{"$add": ...}`), None for a document of fields."""
    keys = list(expression)
    if not keys or not isinstance(keys[0], str) or not keys[0].startswith("$"):
        if any(isinstance(key, str) and key.startswith("$") for key in keys):
            raise QueryError(f"field names in an expression document cannot start with '$': {dict(expression)!r}")
        return None
    if len(keys) > 1:
        raise QueryError(f"an expression operator document takes one operator, got {keys!r}")
    return keys[0]


def check_operators(expression: Any, *, supported: bool = True) -> None:
    """Refuse, before anything is evaluated, an operator that runs code anywhere in `expression`, and with
    `supported` one this module does not know (as `evaluate` would, but also where no document reaches it)."""
    if isinstance(expression, Mapping):
        for key, item in expression.items():
            if isinstance(key, str) and key.startswith("$"):
                if key in CODE_OPERATORS or (supported and key not in OPERATORS):
                    raise QueryError(_unsupported(key))
                if key == "$literal":
                    continue
            check_operators(item, supported=supported)
    elif isinstance(expression, (list, tuple)):
        for item in expression:
            check_operators(item, supported=supported)


def field_path(value: Any, path: str) -> Any:
    """`$a.b` from `value`: through documents by key, through arrays element by element (an array of what
    the elements reach, those reaching nothing left out); MISSING where a document lacks the key."""
    if not path or any(not part for part in path.split(".")):
        raise QueryError(f"invalid field path '${path}'")
    return _walk(value, path.split("."))


def _walk(value: Any, parts: list[str]) -> Any:
    if not parts:
        return value
    if isinstance(value, dict):
        return _walk(value[parts[0]], parts[1:]) if parts[0] in value else MISSING
    if isinstance(value, list):
        found = [_walk(item, parts) for item in value if isinstance(item, (dict, list))]
        return [item for item in found if item is not MISSING]
    return MISSING


def _variable(name: str, variables: Variables) -> Any:
    head, _, rest = name.partition(".")
    if head == "REMOVE":
        return MISSING
    if head not in variables:
        raise QueryError(f"use of undefined variable $${head}" if head.isidentifier()
                         else f"variable $${head} is not supported")
    value = variables[head]
    return _walk(value, rest.split(".")) if rest else value


def _in_array(value: Any) -> Any:
    return None if value is MISSING else value


def _unsupported(operator: str) -> str:
    if operator in CODE_OPERATORS:
        return f"operator {operator} is refused: it runs code"
    return f"expression operator {operator} is not supported by epochlog's aggregation"


# -- arguments -------------------------------------------------------------------------------------


def _args(operator: str, operand: Any, variables: Variables, count: int | tuple[int, int] | None = None) -> list[Any]:
    """The evaluated arguments: an array operand is the argument list, anything else one argument."""
    raw = list(operand) if isinstance(operand, (list, tuple)) else [operand]
    if count is not None:
        low, high = (count, count) if isinstance(count, int) else count
        if not low <= len(raw) <= high:
            expected = str(low) if low == high else f"{low} to {high}"
            raise QueryError(f"{operator} takes {expected} argument(s), {len(raw)} were passed in")
    return [evaluate(item, variables) for item in raw]


def _named(operator: str, operand: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(operand, Mapping):
        raise QueryError(f"{operator} takes a document of named arguments, got {operand!r}")
    unknown = set(operand) - set(required) - set(optional)
    if unknown:
        raise QueryError(f"{operator}: unknown argument(s) {sorted(unknown)}")
    missing = [name for name in required if name not in operand]
    if missing:
        raise QueryError(f"{operator} needs {', '.join(missing)}")
    return dict(operand)


# -- comparison and logic --------------------------------------------------------------------------


def _comparison(operator: str, test: Callable[[int], bool]) -> _Operator:
    def apply(operand: Any, variables: Variables) -> Any:
        left, right = _args(operator, operand, variables, 2)
        return test(compare(left, right))
    return apply


def _cmp(operand: Any, variables: Variables) -> int:
    left, right = _args("$cmp", operand, variables, 2)
    return compare(left, right)


def _and(operand: Any, variables: Variables) -> bool:
    items = operand if isinstance(operand, (list, tuple)) else [operand]
    return all(truthy(evaluate(item, variables)) for item in items)


def _or(operand: Any, variables: Variables) -> bool:
    items = operand if isinstance(operand, (list, tuple)) else [operand]
    return any(truthy(evaluate(item, variables)) for item in items)


def _not(operand: Any, variables: Variables) -> bool:
    (value,) = _args("$not", operand, variables, 1)
    return not truthy(value)


def _cond(operand: Any, variables: Variables) -> Any:
    if isinstance(operand, Mapping):
        named = _named("$cond", operand, ("if", "then", "else"))
        test, then, otherwise = named["if"], named["then"], named["else"]
    elif isinstance(operand, (list, tuple)) and len(operand) == 3:
        test, then, otherwise = operand
    else:
        raise QueryError(f"$cond takes [if, then, else] or {{if, then, else}}, got {operand!r}")
    return evaluate(then if truthy(evaluate(test, variables)) else otherwise, variables)


def _if_null(operand: Any, variables: Variables) -> Any:
    if not isinstance(operand, (list, tuple)) or len(operand) < 2:
        raise QueryError(f"$ifNull takes at least 2 arguments, got {operand!r}")
    for item in operand[:-1]:
        value = evaluate(item, variables)
        if not is_nullish(value):
            return value
    return evaluate(operand[-1], variables)


def _switch(operand: Any, variables: Variables) -> Any:
    named = _named("$switch", operand, ("branches",), ("default",))
    branches = named["branches"]
    if not isinstance(branches, (list, tuple)):
        raise QueryError("$switch: branches must be an array")
    for branch in branches:
        case = _named("$switch branch", branch, ("case", "then"))
        if truthy(evaluate(case["case"], variables)):
            return evaluate(case["then"], variables)
    if "default" not in named:
        raise QueryError("$switch could not find a matching branch for an input, and no default was specified")
    return evaluate(named["default"], variables)


# -- arrays ----------------------------------------------------------------------------------------


def _size(operand: Any, variables: Variables) -> int:
    (value,) = _args("$size", operand, variables, 1)
    return len(as_array("$size", value))


def _array_elem_at(operand: Any, variables: Variables) -> Any:
    array, index = _args("$arrayElemAt", operand, variables, 2)
    if is_nullish(array) or is_nullish(index):
        return None
    items, position = as_array("$arrayElemAt", array), as_integer("$arrayElemAt index", index)
    return items[position] if -len(items) <= position < len(items) else MISSING


def _in(operand: Any, variables: Variables) -> bool:
    value, array = _args("$in", operand, variables, 2)
    return any(equal(value, item) for item in as_array("$in", array))


def _concat_arrays(operand: Any, variables: Variables) -> Any:
    values = _args("$concatArrays", operand, variables)
    if any(is_nullish(value) for value in values):
        return None
    return [item for value in values for item in as_array("$concatArrays", value)]


def _end(operator: str, last: bool) -> _Operator:
    def apply(operand: Any, variables: Variables) -> Any:
        (value,) = _args(operator, operand, variables, 1)
        if is_nullish(value):
            return None
        items = as_array(operator, value)
        return (items[-1] if last else items[0]) if items else MISSING
    return apply


def _slice(operand: Any, variables: Variables) -> Any:
    values = _args("$slice", operand, variables, (2, 3))
    if any(is_nullish(value) for value in values):
        return None
    items = as_array("$slice", values[0])
    if len(values) == 2:
        n = as_integer("$slice", values[1])
        return items[:n] if n >= 0 else items[max(len(items) + n, 0):]
    position, n = as_integer("$slice position", values[1]), as_integer("$slice count", values[2])
    if n <= 0:
        raise QueryError(f"$slice: the count must be positive, got {n}")
    start = position if position >= 0 else max(len(items) + position, 0)
    return items[start:start + n]


def _scoped(operator: str, named: dict[str, Any], variables: Variables) -> tuple[list[Any] | None, str]:
    name = named.get("as", "this")
    if not isinstance(name, str) or not name.isidentifier():
        raise QueryError(f"{operator}: 'as' must be a variable name, got {name!r}")
    value = evaluate(named["input"], variables)
    return (None if is_nullish(value) else as_array(operator, value)), name


def _filter(operand: Any, variables: Variables) -> Any:
    named = _named("$filter", operand, ("input", "cond"), ("as", "limit"))
    items, name = _scoped("$filter", named, variables)
    if items is None:
        return None
    limit = None
    if "limit" in named:
        limit = evaluate(named["limit"], variables)
        if not is_nullish(limit):
            limit = as_integer("$filter limit", limit)
            if limit < 1:
                raise QueryError(f"$filter: limit must be positive, got {limit}")
    kept = [item for item in items if truthy(evaluate(named["cond"], {**variables, name: item}))]
    return kept[:limit] if isinstance(limit, int) else kept


def _map(operand: Any, variables: Variables) -> Any:
    named = _named("$map", operand, ("input", "in"), ("as",))
    items, name = _scoped("$map", named, variables)
    if items is None:
        return None
    return [_in_array(evaluate(named["in"], {**variables, name: item})) for item in items]


def _summary(operator: str) -> _Operator:
    """`$sum`, `$avg`, `$min`, `$max` and the deviations as expressions: over one array argument's elements,
    or over several arguments."""
    def apply(operand: Any, variables: Variables) -> Any:
        from .accumulators import summarize  # accumulators evaluate expressions themselves

        values = _args(operator, operand, variables)
        if len(values) == 1 and isinstance(values[0], list):
            values = values[0]
        return summarize(operator, values)
    return apply


def _literal(operand: Any, variables: Variables) -> Any:
    return operand


def _eager(operator: str, function: Callable[[list[Any]], Any], count: int | tuple[int, int] | None = None,
           ) -> _Operator:
    """An operator of evaluated arguments (`count` of them, when it is fixed)."""
    return lambda operand, variables: function(_args(operator, operand, variables, count))


OPERATORS: dict[str, _Operator] = {
    "$literal": _literal,
    "$add": _eager("$add", arithmetic.add), "$subtract": _eager("$subtract", arithmetic.subtract, 2),
    "$multiply": _eager("$multiply", arithmetic.multiply), "$divide": _eager("$divide", arithmetic.divide, 2),
    "$mod": _eager("$mod", arithmetic.mod, 2), "$pow": _eager("$pow", arithmetic.power, 2),
    "$round": _eager("$round", arithmetic.round_, (1, 2)),
    **{name: _eager(name, function, 1) for name, function in arithmetic.UNARY.items()},
    "$eq": _comparison("$eq", lambda order: order == 0), "$ne": _comparison("$ne", lambda order: order != 0),
    "$gt": _comparison("$gt", lambda order: order > 0), "$gte": _comparison("$gte", lambda order: order >= 0),
    "$lt": _comparison("$lt", lambda order: order < 0), "$lte": _comparison("$lte", lambda order: order <= 0),
    "$cmp": _cmp, "$and": _and, "$or": _or, "$not": _not,
    "$cond": _cond, "$ifNull": _if_null, "$switch": _switch,
    "$size": _size, "$arrayElemAt": _array_elem_at, "$in": _in, "$concatArrays": _concat_arrays,
    "$filter": _filter, "$map": _map, "$first": _end("$first", False), "$last": _end("$last", True),
    "$slice": _slice,
    "$concat": _eager("$concat", strings.concat), "$toLower": _eager("$toLower", strings.case("$toLower", False), 1),
    "$toUpper": _eager("$toUpper", strings.case("$toUpper", True), 1),
    "$substrCP": _eager("$substrCP", strings.substr_cp, 3), "$strLenCP": _eager("$strLenCP", strings.str_len_cp, 1),
    "$split": _eager("$split", strings.split, 2),
    **{name: _eager(name, function, 1) for name, function in conversions.CONVERTERS.items()},
    "$type": _eager("$type", lambda values: type_name(values[0]), 1),
    **{name: _summary(name) for name in ("$sum", "$avg", "$min", "$max", "$stdDevPop", "$stdDevSamp")},
}
