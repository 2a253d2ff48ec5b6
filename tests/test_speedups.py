"""The private-API speedups hold on this Python and on the newest the machine has, and each check catches a
broken one (which then gives way to the public API)."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

from bson import ObjectId

from epochlog import json_codec, speedups

ROOT = Path(__file__).resolve().parents[1]
NEWEST = ROOT / ".venv-newest" / "bin" / "python"


def test_both_speedups_are_active_here() -> None:
    assert speedups.ACTIVE == {"objectid_from_bytes", "json_encoder"}
    assert speedups.objectid_from_bytes(bytes(range(12))) == ObjectId(bytes(range(12)))


def test_both_hold_on_the_newest_cpython_with_the_newest_bson() -> None:
    assert NEWEST.exists(), "scripts/newest-python makes .venv-newest (scripts/test runs it)"
    found = subprocess.run([str(NEWEST), "-c", "import runpy, sys; module = runpy.run_path(sys.argv[1]); "
                            "print(sys.version_info[:2] >= (3, 12), sorted(module['ACTIVE']))",
                            str(ROOT / "src" / "epochlog" / "speedups.py")],
                           capture_output=True, text=True, timeout=60)
    assert found.stdout.split(maxsplit=1) == ["True", "['json_encoder', 'objectid_from_bytes']\n"], found.stderr


def test_a_broken_objectid_speedup_is_caught() -> None:
    assert speedups._same_objectids(ObjectId)
    assert not speedups._same_objectids(lambda binary: ObjectId(binary[::-1]))
    assert not speedups._same_objectids(lambda binary: ObjectId())


def test_the_public_encoder_writes_what_the_fast_one_writes() -> None:
    document = {"metrics": {"loss": 0.25, "n": 3}, "tags": ["a", "é"], "ok": True, "none": None, "text": 'q"\\'}
    fast, public = speedups.json_encoder(str), speedups._public_encoder(str)
    assert fast is not public and "".join(fast(document)) == "".join(public(document)) == \
        json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def test_non_finite_values_are_stored_as_sqlite_reads_them_without_private_apis() -> None:
    text = json_codec.dumps({"a": [math.nan, math.inf, -math.inf], "b": {"c": -math.inf}, "note": "NaN Infinity"})
    assert text == '{"a":[{"$numberDouble":"NaN"},1e999,-1e999],"b":{"c":-1e999},"note":"NaN Infinity"}'
    back = json_codec.loads(text)
    assert math.isnan(back["a"][0]) and back["a"][1:] == [math.inf, -math.inf] and back["b"]["c"] == -math.inf
