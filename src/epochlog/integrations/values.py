"""Framework values made storable: hyperparameters as JSON-safe config, epoch values as metrics, model facts."""

from __future__ import annotations

import enum
import numbers
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

MAX_DEPTH = 8  # config nesting kept; deeper values become their type's name
MAX_ITEMS = 1000  # items kept of a long list in a config
MAX_TEXT = 500  # characters kept of a repr


def safe_key(key: Any) -> str:
    """A key MongoDB stores: a string with no '.', no leading '$', no NUL ('.' becomes '_')."""
    text = str(key).replace(".", "_").replace("\x00", "")
    return "_" + text[1:] if text.startswith("$") else text or "_"


def config_value(value: Any, depth: int = 0) -> Any:
    """A hyperparameter as JSON-safe data: scalars as they are, containers walked, classes and callables as
    their qualified names, tensors and arrays as a short description, anything else as its repr."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, enum.Enum):
        return config_value(value.value, depth)
    if isinstance(value, PurePath):
        return str(value)
    if depth >= MAX_DEPTH:
        return type(value).__qualname__
    if isinstance(value, Mapping):
        return {safe_key(key): config_value(item, depth + 1) for key, item in list(value.items())[:MAX_ITEMS]}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else list(value)
        return [config_value(item, depth + 1) for item in items[:MAX_ITEMS]]
    if isinstance(value, type) or callable(value) and hasattr(value, "__qualname__"):
        return qualified_name(value)
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype"):
        if not tuple(shape):
            return config_value(value.item(), depth) if hasattr(value, "item") else repr(value)[:MAX_TEXT]
        return f"{type(value).__name__}(shape={list(shape)}, dtype={value.dtype})"
    if callable(value):  # an instance with __call__: a module, a loss, a partial
        return qualified_name(type(value))
    return repr(value)[:MAX_TEXT]


def qualified_name(value: Any) -> str:
    """`module.QualName` of a class or function (`functools.partial` shows its function)."""
    target = getattr(value, "func", value)
    module = getattr(target, "__module__", None)
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or type(target).__qualname__
    return f"{module}.{name}" if module and module != "builtins" else str(name)


def metric_value(value: Any) -> float | int | bool | str | None:
    """One per-epoch value as a metric: numbers (numpy, torch scalars) as floats or ints, bools and short
    strings as they are; None for what is no metric (a list, a tensor of many values)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        return value[:MAX_TEXT]
    item = getattr(value, "item", None)
    size = getattr(value, "numel", None) or getattr(value, "size", None)
    count = size() if callable(size) else size
    if item is not None and count == 1:
        return metric_value(item())
    return None


def metric_values(values: Mapping[str, Any], skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The storable metrics of a framework's per-epoch mapping (keys made safe, lists and tensors left out)."""
    metrics = {}
    for key, value in values.items():
        if key in skip:
            continue
        converted = metric_value(value)
        if converted is not None:
            metrics[safe_key(key)] = converted
    return metrics


def step_values(values: Mapping[str, Any]) -> dict[str, float]:
    """The numeric values of a step's mapping, as floats (what a step series holds)."""
    points = {}
    for key, value in values.items():
        converted = metric_value(value)
        if isinstance(converted, (int, float)) and not isinstance(converted, bool):
            points[safe_key(key)] = float(converted)
    return points


def parameter_count(model: Any) -> int | None:
    """How many parameters a torch module (or a Keras model) has, None when it cannot tell."""
    try:
        if hasattr(model, "parameters") and callable(model.parameters):
            return int(sum(parameter.numel() for parameter in model.parameters()))
        if hasattr(model, "count_params"):
            return int(model.count_params())
    except (TypeError, ValueError, RuntimeError, AttributeError):
        return None
    return None


def model_facts(model: Any) -> dict[str, Any]:
    """`{"name": <class>, "parameters": <count>}` of a model, with what can be told."""
    facts: dict[str, Any] = {"name": type(model).__name__}
    count = parameter_count(model)
    if count is not None:
        facts["parameters"] = count
    return facts
