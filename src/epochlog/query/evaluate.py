"""A filter evaluated on decoded documents in Python's hands, by the same SQL the embedded store runs.

Projections (`$elemMatch`, the positional `$`) and the MongoDB store on servers that cannot evaluate a
filter faithfully (store/fallback_filter.py) need "does this document match?" outside a table. Rather
than a second evaluator that could drift from the compiler, the documents are handed to a private
in-memory SQLite database (one per thread, scratch.py) as the rows `compile_filter` expects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bson import ObjectId

from .. import json_codec
from .nodes import Node
from .scratch import scratch_connection
from .sql import compile_filter

def matching(node: Node, documents: Sequence[Mapping[str, Any]]) -> list[int]:
    """The positions, in order, of the documents that match `node` (with MongoDB's semantics)."""
    if not documents:
        return []
    where, params = compile_filter(node)
    rows = [[str(doc["_id"]) if isinstance(doc.get("_id"), ObjectId) else None,
             {key: value for key, value in doc.items() if key != "_id"}] for doc in documents]
    sql = ("SELECT k FROM (SELECT e.key AS k, json_extract(e.value, '$[0]') AS id, "
           f"json_extract(e.value, '$[1]') AS doc FROM json_each(?) AS e) WHERE {where} ORDER BY k")
    return [index for (index,) in scratch_connection().execute(sql, (json_codec.dumps(rows), *params))]


def matches(node: Node, document: Mapping[str, Any]) -> bool:
    return bool(matching(node, [document]))
