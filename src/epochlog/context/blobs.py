"""Content-addressed documents in the `blobs` collection: a git diff or a package set stored once per distinct
content, however many experiments refer to it by its sha256.

A blob's `_id` is an ObjectId made of the first 96 bits of its sha256 (every store keys documents by
ObjectId), and the full digest is its `sha256` field, checked on reading. Writing one is a `Put` of the same
document under the same `_id`, so a second run of the same environment, or a journal replay, changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bson import ObjectId

from ..schema import BLOBS
from ..types import Document, Reader

GIT_DIFF, PACKAGES = "git_diff", "packages"
DIFF_LIMIT = 1_048_576  # bytes of a diff kept; the rest is cut, and the cut marked


def blob_id(sha256: str) -> ObjectId:
    """The `_id` of the blob whose content hashes to `sha256` (64 hex digits)."""
    return ObjectId(sha256[:24])


def diff_blob(diff: bytes) -> Document:
    """The blob of an uncommitted diff; its sha256 is the whole diff's, its `content` at most `DIFF_LIMIT`
    bytes of it, then a line saying it was truncated (and `truncated: true`)."""
    digest = hashlib.sha256(diff).hexdigest()
    truncated = len(diff) > DIFF_LIMIT
    content = diff[:DIFF_LIMIT].decode("utf-8", errors="replace")
    if truncated:
        content += f"\n[epochlog: diff truncated to {DIFF_LIMIT:,} of its {len(diff):,} bytes]\n"
    return {"_id": blob_id(digest), "sha256": digest, "kind": GIT_DIFF, "bytes": len(diff), "truncated": truncated,
            "content": content}


def packages_blob(packages: dict[str, str]) -> Document:
    """The blob of a package set (canonical name -> version), hashed as sorted compact JSON."""
    canonical = json.dumps(packages, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(canonical).hexdigest()
    return {"_id": blob_id(digest), "sha256": digest, "kind": PACKAGES, "count": len(packages),
            "content": dict(sorted(packages.items()))}


def read_blob(store: Reader, sha256: Any, kind: str) -> Any:
    """The content of the `kind` blob hashing to `sha256`, or None when there is none (not a digest, not
    stored, another kind, or another digest sharing its first 96 bits)."""
    if not isinstance(sha256, str) or len(sha256) != 64:
        return None
    try:
        key = blob_id(sha256)
    except (TypeError, ValueError):  # not hex
        return None
    found = store.find(BLOBS, {"_id": key}, limit=1)
    if not found or found[0].get("sha256") != sha256 or found[0].get("kind") != kind:
        return None
    return found[0].get("content")
