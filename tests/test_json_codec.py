"""json_codec: the embedded store's JSON text of documents, and the fast paths of its decoder."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import random

import pytest
from bson import ObjectId
from bson.errors import InvalidId

from epochlog.documents import EPOCH, millis_to_date
from epochlog.object_ids import object_id
from epochlog import json_codec
from epochlog.json_codec import dumps, loads

OID = "0123456789abcdef01234567"


def _reference_loads(text: str) -> object:
    """What loads means, the slow and obvious way."""
    def hook(obj: dict) -> object:
        if len(obj) == 1:
            (key, value), = obj.items()
            if key == "$date":
                return EPOCH + dt.timedelta(milliseconds=value)
            if key == "$oid":
                return ObjectId(value)
            if key == "$numberDouble":
                return float(value)
            if key == "$binary":
                return base64.b64decode(value)
        return obj
    return json.loads(text, object_hook=hook)


def _same(a: object, b: object) -> None:
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert list(a) == list(b)  # type: ignore[arg-type]
        for key in a:
            _same(a[key], b[key])  # type: ignore[index]
    elif isinstance(a, list):
        assert len(a) == len(b)  # type: ignore[arg-type]
        for x, y in zip(a, b):  # type: ignore[call-overload]
            _same(x, y)
    elif isinstance(a, float):
        assert repr(a) == repr(b)
    elif isinstance(a, dt.datetime):
        assert a == b and repr(a) == repr(b) and a.tzinfo is b.tzinfo  # type: ignore[union-attr]
    else:
        assert a == b and repr(a) == repr(b)


def test_round_trip_of_every_tag() -> None:
    document = {
        "oid": ObjectId(OID),
        "dates": [EPOCH, EPOCH + dt.timedelta(milliseconds=-1), dt.datetime(2026, 11, 27, 1, 2, 3, 456000,
                                                                            tzinfo=dt.timezone.utc)],
        "blob": b"\x00\x01\xff",
        "floats": [float("inf"), -float("inf"), 0.1, -0.0],
        "nested": {"a": [{"b": {"c": ObjectId(OID)}}], "empty": {}, "list": []},
        "text": 'a "$date" that is only text, and é€😀',
    }
    decoded = loads(dumps(document))
    assert decoded == document
    assert decoded["dates"][2].tzinfo is dt.timezone.utc
    nan = loads(dumps({"x": float("nan")}))["x"]
    assert math.isnan(nan)


@pytest.mark.parametrize("millis", [
    0, 1, 999, 1000, -1, -999, -1000, -1001, 1_795_746_376_636, 2**41 - 1, 2**41, 2**41 + 1, -2**41,
    253_402_300_799_999, -62_135_596_800_000,
])
def test_millis_to_date_is_epoch_plus_timedelta(millis: int) -> None:
    expected = EPOCH + dt.timedelta(milliseconds=millis)
    got = millis_to_date(millis)
    assert got == expected and repr(got) == repr(expected) and got.tzinfo is dt.timezone.utc


def test_millis_to_date_random_millis() -> None:
    rng = random.Random(0)
    for _ in range(20_000):
        millis = rng.choice([rng.randrange(0, 2**41), rng.randrange(-62_135_596_800_000, 253_402_300_799_999)])
        assert repr(millis_to_date(millis)) == repr(EPOCH + dt.timedelta(milliseconds=millis)), millis


def test_millis_to_date_of_a_float_is_exact() -> None:
    for millis in (1.5, 0.0005, -1.5, 1e3):
        assert millis_to_date(millis) == EPOCH + dt.timedelta(milliseconds=millis)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [OID, OID.upper(), "ffffffffffffffffffffffff"])
def test_object_id_is_objectid(value: str) -> None:
    oid = object_id(value)
    assert type(oid) is ObjectId
    assert oid == ObjectId(value) and hash(oid) == hash(ObjectId(value)) and oid.binary == ObjectId(value).binary


@pytest.mark.parametrize("value", [OID[:-1], OID + "0", OID[:-1] + "g", " " + OID[1:], "  " + OID,
                                   OID[:12] + " " + OID[13:], "é" + OID[1:], ""])
def test_object_id_rejects_what_objectid_rejects(value: str) -> None:
    with pytest.raises(InvalidId) as expected:
        ObjectId(value)
    with pytest.raises(InvalidId) as got:
        object_id(value)
    assert str(got.value) == str(expected.value)


def test_object_id_of_other_types() -> None:
    assert object_id(b"foo-bar-quux") == ObjectId(b"foo-bar-quux")
    assert object_id(ObjectId(OID)) == ObjectId(OID)
    with pytest.raises(TypeError):
        object_id(123)


@pytest.mark.parametrize("text", [
    '{"$date":1795746376636}', '{"$date":-1}', '{"$oid":"%s"}' % OID, '{"$numberDouble":"NaN"}',
    '{"$binary":"AAEC"}', '{"$other":1}', '{"$date":1,"x":2}', '{"\\u0024date":5}', '{"a":"\\u0024date"}',
    '{"x":[{"$oid":"%s"},{"$date":-5}],"y":{"z":{"$date":0}}}' % OID, '{"a":1}', '[1e999,-1e999]', '"$"',
    '{"a":"price $5"}', ' {"$date":1} ', '\n{"a":1}\n', '\t[{"$oid":"%s"}]\r\n' % OID, '1',
])
def test_loads_is_the_reference(text: str) -> None:
    _same(loads(text), _reference_loads(text))
    _same(loads(text.encode()), _reference_loads(text))


@pytest.mark.parametrize("text", ['', ' ', '{', '{"a":1}x', '{"$date":1} x', '[1,2] 3', '{"$oid":"zz"}',
                                  ' {"$oid":"zz"}', '{"$date":"x"}', '{"a":[1,{"$binary":5}]}'])
def test_loads_fails_like_the_reference(text: str) -> None:
    with pytest.raises(Exception) as expected:
        _reference_loads(text)
    with pytest.raises(Exception) as got:
        loads(text)
    assert type(got.value) is type(expected.value) and str(got.value) == str(expected.value)


def test_documents_without_tags_skip_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(json_codec, "_decode", lambda text: calls.append(text))
    assert loads('{"a":{"b":[1,"x$"]}}') == {"a": {"b": [1, "x$"]}}
    assert calls == []
    loads('{"a":{"$date":1}}')
    assert calls == ['{"a":{"$date":1}}']
