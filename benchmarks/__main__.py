"""`python -m benchmarks`: run the workloads against each adapter, print a table, write JSON lines.

Usually started by `benchmarks/run`, which installs the `bench` extra and starts a FerretDB for the
MongoDB adapters; run directly, pass `--mongodb-uri` or choose only embedded adapters.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from . import replay, report, workers
from .adapters import ADAPTERS, NEEDS_SERVER, AdapterSpec, adapter_class, open_adapter
from .environment import ROOT, base_versions, machine
from .frameworks import FRAMEWORKS, PEERS
from .measure import Result
from .scale import SCALES, Scale
from .workloads import IN_PROCESS, Session

WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "M", "T", "TI", "J")
TRAINING = frozenset({"T", "TI"})  # run at the main scale on every adapter: their cost is the training
LAG_ADAPTER = "epochlog-mongo-journal-lag"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full",
                        help="full: the targets' sizes; quick: about 1/20 of every count; tiny: a smoke test")
    parser.add_argument("--server-scale", choices=sorted(SCALES),
                        help="scale of the MongoDB-server adapters (default: quick when --scale is full, else "
                             "--scale): FerretDB 1.24's upserts scan their collection, see docs/PERFORMANCE.md")
    parser.add_argument("--only", default=",".join(WORKLOADS), help=f"workloads, comma-separated ({','.join(WORKLOADS)})")
    parser.add_argument("--adapters", default=",".join(ADAPTERS), help=f"adapters, comma-separated ({','.join(ADAPTERS)})")
    parser.add_argument("--out", type=Path, help="JSON lines file (default benchmarks/results/<timestamp>.jsonl)")
    parser.add_argument("--mongodb-uri", help="the MongoDB-wire server for the MongoDB adapters")
    parser.add_argument("--lag-ms", type=float, default=10.0,
                        help=f"latency added each way by {LAG_ADAPTER}'s proxy (default 10 ms: a 20 ms round trip)")
    parser.add_argument("--workdir", type=Path, help="where stores are created (default: a temporary directory)")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                        help=f"TI's frameworks, comma-separated ({','.join(FRAMEWORKS)})")
    parser.add_argument("--peers", default=",".join(PEERS),
                        help=f"TI's peers run in the same process ({','.join(PEERS)}, or none)")
    args = parser.parse_args(argv)
    if args.server_scale is None:
        args.server_scale = "quick" if args.scale == "full" else args.scale
    args.only = _choices(args.only, WORKLOADS, parser, "workload")
    args.adapters = _choices(args.adapters, tuple(ADAPTERS), parser, "adapter")
    args.frameworks = _choices(args.frameworks, FRAMEWORKS, parser, "framework")
    args.peers = () if args.peers == "none" else tuple(_choices(args.peers, PEERS, parser, "peer"))
    if not args.mongodb_uri and NEEDS_SERVER & set(args.adapters):
        parser.error(f"{', '.join(sorted(NEEDS_SERVER & set(args.adapters)))} need --mongodb-uri "
                     "(benchmarks/run starts a FerretDB and passes it)")
    return args


def _choices(text: str, allowed: tuple[str, ...], parser: argparse.ArgumentParser, what: str) -> list[str]:
    chosen = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [item for item in chosen if item not in allowed]
    if unknown or not chosen:
        parser.error(f"unknown {what}(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(allowed)}")
    return [item for item in allowed if item in chosen]  # a fixed order, whatever order they were given in


class Recorder:
    """Writes one JSON line per result, each carrying the versions, machine and scale it was measured at."""

    def __init__(self, out: TextIO, run_id: str) -> None:
        self.out = out
        self.common = {"run": run_id, "machine": machine()}
        self.base_versions = base_versions()
        self.lines: list[dict[str, Any]] = []

    def write(self, line: dict[str, Any]) -> None:
        line = {**line, "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        self.lines.append(line)
        self.out.write(json.dumps(line, default=str) + "\n")
        self.out.flush()

    def result(self, adapter: str, versions: dict[str, str], scale: Scale, result: Result) -> None:
        self.write({"kind": "result", "adapter": adapter, "workload": result.workload, "metric": result.metric,
                    "value": result.value, "unit": result.unit, "extra": result.extra,
                    "versions": {**self.base_versions, **versions}, "scale": scale.name,
                    "scale_counts": scale.as_dict(), **self.common})
        shown = report._number(result.value)
        print(f"  {adapter:28} {result.workload:3} {result.metric:32} {shown:>12} {result.unit}", flush=True)

    def error(self, adapter: str, workload: str, text: str) -> None:
        self.write({"kind": "error", "adapter": adapter, "workload": workload, "error": text, **self.common})
        print(f"  {adapter:28} {workload:3} FAILED: {text.strip().splitlines()[-1]}", flush=True)


def run_adapter(name: str, args: argparse.Namespace, workdir: Path, uris: dict[str, str], token: str,
                recorder: Recorder) -> None:
    scale = SCALES[args.server_scale if name in NEEDS_SERVER else args.scale]
    directory = workdir / name
    directory.mkdir(parents=True, exist_ok=True)

    def spec(label: str) -> AdapterSpec:
        return AdapterSpec(name, str(directory), label, uris.get(name), {"token": token})

    cls = _attempt(recorder, name, "import", lambda: adapter_class(name))
    if cls is None:
        return
    wanted = [workload for workload in args.only if workload not in cls.unsupported]
    print(f"{name} ({scale.name} scale): {', '.join(wanted) or 'nothing to run'}", flush=True)
    in_process = [workload for workload in wanted if workload in IN_PROCESS]
    versions: dict[str, str] = {}
    if in_process:
        adapter = _attempt(recorder, name, "open", lambda: open_adapter(spec("main")))
        if adapter is None:
            return
        versions = adapter.versions()
        session = Session(adapter, scale)
        for workload in in_process:
            _run(recorder, name, versions, scale, workload, lambda: IN_PROCESS[workload](session))
        _attempt(recorder, name, "close", adapter.close)
        _attempt(recorder, name, "discard", lambda: cls.discard(spec("main")))
    separate: dict[str, Callable[[AdapterSpec, Scale], Iterator[Result]]] = {
        "W5": workers.w5, "M": workers.memory, "T": workers.training,
        "TI": functools.partial(workers.integrations, frameworks=args.frameworks, peers=args.peers),
        "J": replay.replay}
    for workload in wanted:
        if workload in separate:
            if not versions:
                probe = open_adapter(spec("probe"))
                versions = probe.versions()
                probe.close()
                cls.discard(spec("probe"))
            workload_spec = spec(workload.lower())
            # T's cost is the training itself, not the server's: the server adapters run it at the main scale
            # too, since at the quick scale's 300 steps its A/B difference is mostly noise (and so TI)
            own = SCALES[args.scale] if workload in TRAINING else scale
            _run(recorder, name, versions, own, workload, lambda: separate[workload](workload_spec, own))
            _attempt(recorder, name, "discard", lambda: cls.discard(workload_spec))


def _run(recorder: Recorder, name: str, versions: dict[str, str], scale: Scale, workload: str,
         results: Callable[[], Iterable[Result]]) -> None:
    try:
        for result in results():
            recorder.result(name, versions, scale, result)
    except Exception:
        recorder.error(name, workload, traceback.format_exc())


def _attempt(recorder: Recorder, name: str, what: str, action: Callable[[], Any]) -> Any:
    try:
        return action()
    except Exception:
        recorder.error(name, what, traceback.format_exc())
        return None


def start_lag_proxy(uri: str, lag_ms: float) -> tuple[subprocess.Popen[str], str]:
    from pymongo.uri_parser import parse_uri

    host, port = parse_uri(uri)["nodelist"][0]
    proxy = subprocess.Popen([sys.executable, "-m", "benchmarks.lagproxy", f"{host}:{port}", str(lag_ms)],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proxy.stdout is not None
    local_port = int(proxy.stdout.readline())
    return proxy, f"mongodb://127.0.0.1:{local_port}/?directConnection=true"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_id = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_path = args.out or ROOT / "benchmarks" / "results" / f"{run_id}.jsonl"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="epochlog-bench-"))
    uris = {name: args.mongodb_uri for name in NEEDS_SERVER if args.mongodb_uri}
    proxy = None
    started = time.monotonic()
    try:
        if LAG_ADAPTER in args.adapters:
            proxy, uris[LAG_ADAPTER] = start_lag_proxy(args.mongodb_uri, args.lag_ms)
        with open(out_path, "w") as out:
            recorder = Recorder(out, run_id)
            print(f"scale {args.scale} (server adapters: {args.server_scale}); results: {out_path}", flush=True)
            for name in args.adapters:
                run_adapter(name, args, workdir, uris, uuid.uuid4().hex[:8], recorder)
            found = report.checks(report.values_of(recorder.lines))
            for check in found:
                recorder.write({**check.line(), **recorder.common})
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.communicate(timeout=10)  # closes its stdout pipe too
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    tables = [report.table(recorder.lines), report.ti_table(recorder.lines), report.j_table(recorder.lines),
              report.check_table(found)]
    print("\n" + "\n\n".join(table for table in tables if table) + "\n")
    print(f"{len(recorder.lines)} lines in {out_path} ({time.monotonic() - started:.0f} s)")
    return 1 if any(line["kind"] == "error" for line in recorder.lines) else 0


if __name__ == "__main__":
    sys.exit(main())
