"""Import a BIDS `participants.tsv` into the subjects collection.

`participant_id` becomes `subject_id`; `n/a` (or an empty cell) leaves the field out; a column whose every
value is an integer (without leading zeros) is stored as int, one whose every value is a number as float,
anything else as text. A subject already stored keeps the fields the file does not have, and its
`releases` accumulate (from `--release` and a `release_number` or `release` column).
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument
from ..tracker import Tracker

MISSING = frozenset({"n/a", ""})
RELEASE_COLUMNS = ("release_number", "release")
BATCH = 500
_INTEGER = re.compile(r"[+-]?(0|[1-9]\d*)")
_ZERO_PADDED = re.compile(r"[+-]?0\d")  # "001": a code, not a number


@dataclass
class ParticipantsReport:
    """What an import read and wrote."""

    source: str
    subjects: int = 0
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # column -> int, float or str

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "subjects": self.subjects, "new": self.new, "updated": self.updated,
                "duplicates": self.duplicates, "columns": self.columns}


def read_participants(path: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], dict[str, str], int]:
    """The file's rows as subject documents, each column's type, and how many duplicate ids it had."""
    location = Path(path)
    try:
        with open(location, encoding="utf-8-sig", newline="") as handle:
            rows = [row for row in csv.reader(handle, delimiter="\t") if any(cell.strip() for cell in row)]
    except FileNotFoundError:
        raise InvalidArgument(f"{location}: no such file") from None
    except IsADirectoryError:
        raise InvalidArgument(f"{location}: is a directory") from None
    except UnicodeDecodeError:
        raise InvalidArgument(f"{location}: not a UTF-8 text file") from None
    except csv.Error as error:
        raise InvalidArgument(f"{location}: not a tab-separated file ({error})") from None
    if not rows:
        raise InvalidArgument(f"{location}: empty file, expected a header with participant_id")
    header = [cell.strip() for cell in rows[0]]
    if "participant_id" not in header:
        shown = ", ".join(header[:8]) + (", ..." if len(header) > 8 else "")
        raise InvalidArgument(f"{location}: no participant_id column (found: {shown})")
    names = [_key(name, index) for index, name in enumerate(header)]
    cells: list[dict[str, str]] = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) > len(header):
            raise InvalidArgument(f"{location}, line {line}: {len(row)} fields but the header has {len(header)}")
        values = {name: cell.strip() for name, cell in zip(names, row) if cell.strip() not in MISSING}
        subject_id = values.pop("participant_id", None)
        if subject_id is None:
            raise InvalidArgument(f"{location}, line {line}: participant_id is empty")
        cells.append({**values, "subject_id": subject_id})
    types = {name: _column_type([record[name] for record in cells if name in record])
             for name in names if name != "participant_id"}
    by_id: dict[str, dict[str, Any]] = {}
    for record in cells:
        by_id[record["subject_id"]] = {name: _typed(value, types.get(name, "str")) for name, value in record.items()}
    return list(by_id.values()), types, len(cells) - len(by_id)


def import_participants(tracker: Tracker, path: str | os.PathLike[str], *, release: str | None = None,
                        progress: Callable[[int, int], None] | None = None) -> ParticipantsReport:
    """Upsert the file's subjects, merged into those already stored; see the module docstring."""
    subjects, types, duplicates = read_participants(path)
    report = ParticipantsReport(str(path), len(subjects), duplicates=duplicates, columns=types)
    for start in range(0, len(subjects), BATCH):
        chunk = subjects[start:start + BATCH]
        stored = {document["subject_id"]: document for document in
                  tracker.get_subjects({"subject_id": {"$in": [subject["subject_id"] for subject in chunk]}})}
        merged = []
        for subject in chunk:
            old = stored.get(subject["subject_id"])
            document = {key: value for key, value in (old or {}).items() if key != "_id"}
            document.update(subject)
            releases = list(document.get("releases") or []) if isinstance(document.get("releases"), list) else []
            for value in (release, *(subject.get(column) for column in RELEASE_COLUMNS)):
                if isinstance(value, str) and value not in releases:
                    releases.append(value)
            if releases:
                document["releases"] = sorted(releases)
            merged.append(document)
            if old is None:
                report.new += 1
            else:
                report.updated += 1
        tracker.upsert_subjects(merged)
        if progress is not None:
            progress(start + len(chunk), len(subjects))
    return report


def _key(name: str, index: int) -> str:
    """A column name a document can hold as a key."""
    key = name.replace(".", "_").lstrip("$").replace("\x00", "")
    return key or f"column_{index + 1}"


def _column_type(values: list[str]) -> str:
    if not values or any(_ZERO_PADDED.match(value) for value in values):
        return "str"
    if all(_INTEGER.fullmatch(value) for value in values):
        return "int"
    try:
        numbers = [float(value) for value in values]
    except ValueError:
        return "str"
    return "float" if all(math.isfinite(number) for number in numbers) else "str"


def _typed(value: str, kind: str) -> Any:
    if kind == "int":
        number = int(value)
        return number if -(2**63) <= number < 2**63 else float(number)
    if kind == "float":
        return float(value)
    return value


__all__ = ["ParticipantsReport", "import_participants", "read_participants"]
