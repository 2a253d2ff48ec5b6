"""Which parts of the environment a run records: `create_experiment(capture=...)` and `EPOCHLOG_CAPTURE`.

Like W&B's settings and MLflow's `log_git`-style switches, every part is on unless turned off, and the
keyword wins over the environment variable, so a script can opt out without its users' shells changing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Union

from ..errors import InvalidArgument

#: The groups, each recorded or not as a whole (see docs/CONTEXT.md for what each holds).
GROUPS: tuple[str, ...] = ("argv", "console", "cwd", "git", "git_diff", "gpus", "packages", "python", "system", "system_metrics",
                           "versions")
ENV_VARIABLE = "EPOCHLOG_CAPTURE"

#: What `capture=` takes: None (the environment variable, else everything), True (everything), False
#: (nothing), group names (exactly those), or `{group: bool}` (those turned on or off, over the variable).
CaptureSpec = Union[bool, Mapping[str, bool], Iterable[str], None]

_NOTHING = frozenset({"0", "none", "off", "false", "no"})
_EVERYTHING = frozenset({"1", "all", "on", "true", "yes"})


def capture_groups(capture: CaptureSpec = None) -> frozenset[str]:
    """The groups to record, from the `capture=` keyword and `EPOCHLOG_CAPTURE`; InvalidArgument naming an
    unknown group (or a value that is not one of the forms above)."""
    if capture is None:
        return from_environment(os.environ.get(ENV_VARIABLE))
    if isinstance(capture, bool):
        return frozenset(GROUPS) if capture else frozenset()
    if isinstance(capture, Mapping):
        groups = set(from_environment(os.environ.get(ENV_VARIABLE)))
        for name, wanted in capture.items():
            if not isinstance(wanted, bool):
                raise InvalidArgument(f"capture[{name!r}] must be True or False, got {wanted!r}")
            (groups.add if wanted else groups.discard)(_group(name, "capture"))
        return frozenset(groups)
    if isinstance(capture, str) or not isinstance(capture, Iterable):
        raise InvalidArgument(f"capture must be True, False, a set of {', '.join(GROUPS)} or a dict of them "
                              f"to True/False; got {capture!r}")
    return frozenset(_group(name, "capture") for name in capture)


def from_environment(value: str | None) -> frozenset[str]:
    """`EPOCHLOG_CAPTURE`: unset or `all` is everything, `none` (or `0`) nothing; comma-separated group names
    record only those, `-name`s everything but those (`-argv,-git_diff`)."""
    items = [item.strip().lower() for item in (value or "").split(",") if item.strip()]
    if not items or len(items) == 1 and items[0] in _EVERYTHING:
        return frozenset(GROUPS)
    if len(items) == 1 and items[0] in _NOTHING:
        return frozenset()
    wanted = {_group(item, ENV_VARIABLE) for item in items if not item.startswith("-")}
    unwanted = {_group(item[1:], ENV_VARIABLE) for item in items if item.startswith("-")}
    return frozenset((wanted or set(GROUPS)) - unwanted)


def _group(name: object, where: str) -> str:
    if name not in GROUPS:
        raise InvalidArgument(f"{where}: unknown capture group {name!r}; the groups are {', '.join(GROUPS)}")
    return str(name)
