"""Runs from TensorBoard logs, read with TensorBoard's own event reader.

Every directory under LOGDIR that holds event files is one run, and one experiment: its scalars (summary
scalars, and the tensors TF 2's `tf.summary.scalar` writes) as step series with their last values as
`metrics`, the hparams plugin's values as `config`, the first and last event times as start and end.
TensorBoard records no status: runs are imported as completed. A scalar named `epoch` (Lightning logs one)
maps steps to epochs, as for MLflow. Images, histograms, audio, text and graphs are counted as unmapped.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidArgument
from .records import ImportedRun, ImportReport, load, nested

if TYPE_CHECKING:
    from ..tracker import Tracker

EVENT_FILE = "tfevents"
UNMAPPED_KINDS = ("images", "audio", "histograms", "graph", "meta_graph")  # (distributions: histograms again)


def import_tensorboard(tracker: Tracker, logdir: str | os.PathLike[str], *,
                       steps_are_epochs: bool = False) -> ImportReport:
    """Import every run under `logdir` into `tracker`; importing again writes only what changed."""
    root = Path(logdir).expanduser().resolve()
    if not root.is_dir():
        raise InvalidArgument(f"{logdir!s} is not a directory of TensorBoard logs")
    try:
        from tensorboard.backend.event_processing import event_accumulator  # noqa: F401
    except ImportError as error:
        raise InvalidArgument("importing TensorBoard logs needs tensorboard: pip install tensorboard") from error
    report = ImportReport(f"tensorboard {root}")
    run_dirs = sorted({path.parent for path in root.rglob(f"*{EVENT_FILE}*") if path.is_file()})
    if not run_dirs:
        raise InvalidArgument(f"no TensorBoard event files under {root}")
    return load(tracker, _runs(root, run_dirs, steps_are_epochs, report), report)


def _runs(root: Path, run_dirs: list[Path], steps_are_epochs: bool, report: ImportReport) -> Iterator[ImportedRun]:
    for directory in run_dirs:
        yield _run(root, directory, steps_are_epochs, report)


def _run(root: Path, directory: Path, steps_are_epochs: bool, report: ImportReport) -> ImportedRun:
    from tensorboard.backend.event_processing import event_accumulator as ea

    accumulator = ea.EventAccumulator(str(directory), size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})
    accumulator.Reload()
    name = directory.relative_to(root).as_posix() if directory != root else root.name
    tags = accumulator.Tags()
    points: dict[str, list[tuple[float, int, float]]] = {}
    for tag in tags.get("scalars", []):
        points[tag] = [(event.wall_time, event.step, event.value) for event in accumulator.Scalars(tag)]
    for tag in tags.get("tensors", []):
        if accumulator.SummaryMetadata(tag).plugin_data.plugin_name == "scalars" and tag not in points:
            points[tag] = [(event.wall_time, event.step, _scalar(event.tensor_proto)) for event in
                           accumulator.Tensors(tag)]
    for kind in UNMAPPED_KINDS:
        found = tags.get(kind)
        if found:
            count = len(found) if isinstance(found, list) else 1
            report.unmapped.append(f"{name}: {count} {kind} not imported")
    times = [wall for series in points.values() for wall, _, _ in series]
    start = min(times) if times else accumulator.FirstEventTimestamp()
    series = {}
    for tag, values in points.items():
        values.sort(key=lambda point: (point[1], point[0]))
        series[tag] = (np.array([step for _, step, _ in values], dtype=np.int64),
                       np.array([value for _, _, value in values], dtype=np.float64))
    document: dict[str, Any] = {
        "experiment_name": name,
        "status": "completed",
        "start_time": _time(start),
        "end_time": _time(max(times) if times else start),
        "config": nested(_hparams(accumulator), name, report),
        "metrics": nested({tag: values[-1][2] for tag, values in points.items() if values}, name, report),
        "tags": ["tensorboard"],
        "tensorboard": {"logdir": str(root), "run": name},
    }
    return ImportedRun(f"tensorboard:{directory}", int(start), document, series, steps_are_epochs)


def _hparams(accumulator: Any) -> dict[str, Any]:
    """The hparams plugin's session start values (what `add_hparams` or Lightning's logger wrote)."""
    from tensorboard.plugins.hparams import metadata

    try:
        content = accumulator.PluginTagToContent(metadata.PLUGIN_NAME)
    except KeyError:  # no hparams in this run
        return {}
    found: dict[str, Any] = {}
    for tag, data in content.items():
        if tag != metadata.SESSION_START_INFO_TAG:
            continue
        for key, value in metadata.parse_session_start_info_plugin_data(data).hparams.items():
            kind = value.WhichOneof("kind")
            if kind == "number_value":  # TensorBoard keeps every number as a float: 32.0 was the int 32
                number = value.number_value
                found[key] = int(number) if number.is_integer() and abs(number) < 2**53 else number
            else:
                found[key] = {"string_value": value.string_value, "bool_value": value.bool_value}.get(kind or "")
    return found


def _scalar(tensor: Any) -> float:
    from tensorboard.util import tensor_util

    return float(tensor_util.make_ndarray(tensor).item())


def _time(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
