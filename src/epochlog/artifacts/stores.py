"""Where copies of checkpoint files are kept: content-addressed by sha256, so an identical file is stored once.

    DirectoryArtifacts(root)         <root>/<first two hex digits>/<sha256>, local or a shared mount
    GridFSArtifacts(uri, database)   GridFS bucket `artifacts` of a MongoDB database, a file's _id its sha256

`put` copies a file in while hashing it and keeps it only when the hash is the one it was given (a file
rewritten since it was hashed is refused, never stored under the wrong name); `get` writes a copy out and
checks it the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..checkpoints import Signature, signature
from ..errors import EpochlogError, NotFound, StoreUnavailable
from ..redaction import redact

CHUNK = 1 << 20
BUCKET = "artifacts"
LEFTOVER_SECONDS = 3600.0  # a partial copy this old belongs to no copy under way


class ArtifactError(EpochlogError):
    """A copy could not be made: the file changed since it was hashed, or the stored copy is damaged."""


class ArtifactStore(ABC):
    """Files by their sha256 (lowercase hex)."""

    label: str  # where, for messages (never a password)

    @abstractmethod
    def has(self, sha256: str) -> bool: ...

    @abstractmethod
    def put(self, sha256: str, source: str | os.PathLike[str], hashed: Signature | None = None) -> bool:
        """Copy `source` in under `sha256`; False when it was there already. ArtifactError when the file's
        content does not hash to `sha256`. `hashed`, the file's `signature` taken before it was hashed to
        `sha256`, lets a store copy without hashing again while the file shows it is unchanged."""

    @abstractmethod
    def open(self, sha256: str) -> IO[bytes]:
        """The stored bytes; NotFound when there are none."""

    @abstractmethod
    def delete(self, sha256: str) -> None: ...

    @abstractmethod
    def sizes(self) -> Iterator[tuple[str, int]]:
        """Every stored file: (sha256, bytes)."""

    @abstractmethod
    def sweep(self, older_than: float = LEFTOVER_SECONDS) -> int:
        """Remove what copies cut short left (older than `older_than` seconds, so none under way); how many."""

    def get(self, sha256: str, target: str | os.PathLike[str]) -> int:
        """Write the copy to `target` (atomically, after checking its hash); its size."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(handle, "wb") as out, self.open(sha256) as stored:
                size, digest = _copy(stored, out)
            if digest != sha256:
                raise ArtifactError(f"the stored copy {sha256[:12]}… in {self.label} is damaged (it hashes to "
                                    f"{digest[:12]}…)")
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return size

    def check(self, sha256: str) -> str:
        """`ok`, `missing`, or `damaged` (its bytes hash to something else)."""
        try:
            with self.open(sha256) as stored:
                _, digest = _copy(stored, None)
        except NotFound:
            return "missing"
        return "ok" if digest == sha256 else "damaged"

    def close(self) -> None:
        """Release what the store holds open (GridFS: its client)."""


class DirectoryArtifacts(ArtifactStore):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser()
        self.label = f"directory {self.root}"

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def put(self, sha256: str, source: str | os.PathLike[str], hashed: Signature | None = None) -> bool:
        final = self._path(sha256)
        if final.is_file():
            return False
        final.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".incoming.", dir=final.parent)
        try:
            with os.fdopen(handle, "wb") as out, open(source, "rb") as data:
                if hashed is not None and signature(data.fileno()) == hashed:
                    # unchanged since it was hashed: the kernel copies it, and it must still be unchanged after
                    _kernel_copy(data, out)
                    digest = sha256 if signature(data.fileno()) == hashed else "changed while it was copied"
                else:
                    _, digest = _copy(data, out)
                out.flush()
                os.fsync(out.fileno())
            if digest != sha256:
                raise ArtifactError(f"{source} changed since it was hashed (now {digest[:12]}…, "
                                    f"recorded {sha256[:12]}…): not stored")
            os.replace(temporary, final)  # whole or not at all, even if the process dies here
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return True

    def open(self, sha256: str) -> IO[bytes]:
        try:
            return open(self._path(sha256), "rb")
        except FileNotFoundError:
            raise NotFound(f"{sha256[:12]}… is not in {self.label}") from None

    def delete(self, sha256: str) -> None:
        path = self._path(sha256)
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()  # the prefix directory, once empty
        except OSError:
            pass

    def sweep(self, older_than: float = LEFTOVER_SECONDS) -> int:
        cutoff, removed = time.time() - older_than, 0
        for path in self.root.glob("??/.incoming.*") if self.root.is_dir() else ():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:  # its copy finished, or another sweep took it
                pass
        return removed

    def sizes(self) -> Iterator[tuple[str, int]]:
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("??/*")):
            if len(path.name) == 64 and path.is_file():
                yield path.name, path.stat().st_size


class GridFSArtifacts(ArtifactStore):
    """A GridFS bucket; an upload that died midway leaves chunks without a file document, removed before
    the same file is uploaded again."""

    def __init__(self, uri: str, database: str, *, timeout_ms: int = 5000) -> None:
        import gridfs
        import pymongo

        self._client: pymongo.MongoClient[Any] = pymongo.MongoClient(
            uri, serverSelectionTimeoutMS=timeout_ms, connect=False)
        self._db = self._client[database]
        self._bucket = gridfs.GridFSBucket(self._db, bucket_name=BUCKET)
        self.label = f"GridFS {redact(uri)} {database}.{BUCKET}"

    def has(self, sha256: str) -> bool:
        with _reachable(self.label):
            return self._db[f"{BUCKET}.files"].count_documents({"_id": sha256}, limit=1) > 0

    def put(self, sha256: str, source: str | os.PathLike[str], hashed: Signature | None = None) -> bool:
        with _reachable(self.label):
            if self.has(sha256):
                return False
            self._db[f"{BUCKET}.chunks"].delete_many({"files_id": sha256})  # what a killed upload left
            with open(source, "rb") as data:
                reader = _HashingReader(data)
                self._bucket.upload_from_stream_with_id(sha256, sha256, reader)
            if reader.digest.hexdigest() != sha256:
                self._bucket.delete(sha256)
                raise ArtifactError(f"{source} changed since it was hashed: not stored")
        return True

    def open(self, sha256: str) -> IO[bytes]:
        import gridfs

        with _reachable(self.label):
            try:
                return self._bucket.open_download_stream(sha256)  # type: ignore[return-value]
            except gridfs.errors.NoFile:
                raise NotFound(f"{sha256[:12]}… is not in {self.label}") from None

    def delete(self, sha256: str) -> None:
        with _reachable(self.label):
            self._db[f"{BUCKET}.files"].delete_one({"_id": sha256})
            self._db[f"{BUCKET}.chunks"].delete_many({"files_id": sha256})

    def sweep(self, older_than: float = LEFTOVER_SECONDS) -> int:
        """Chunks of no file (an upload killed midway), by their chunk ids' times."""
        from bson import ObjectId

        # ObjectIds hold whole seconds: the cutoff is rounded up, not down
        cutoff = ObjectId.from_datetime(dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=older_than - 1))
        with _reachable(self.label):
            files = set(self._db[f"{BUCKET}.files"].distinct("_id"))
            orphans = [key for key in self._db[f"{BUCKET}.chunks"].distinct("files_id", {"_id": {"$lt": cutoff}})
                       if key not in files]
            if not orphans:
                return 0
            return int(self._db[f"{BUCKET}.chunks"].delete_many({"files_id": {"$in": orphans},
                                                                  "_id": {"$lt": cutoff}}).deleted_count)

    def sizes(self) -> Iterator[tuple[str, int]]:
        with _reachable(self.label):
            found = list(self._db[f"{BUCKET}.files"].find({}, {"_id": 1, "length": 1}).sort("_id", 1))
        for document in found:
            if isinstance(document.get("_id"), str):
                yield document["_id"], int(document.get("length") or 0)

    def close(self) -> None:
        self._client.close()


class _HashingReader:
    def __init__(self, data: IO[bytes]) -> None:
        self._data, self.digest = data, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self._data.read(size)
        self.digest.update(chunk)
        return chunk


@contextmanager
def _reachable(label: str) -> Iterator[None]:
    """pymongo's connection errors as StoreUnavailable, naming the bucket."""
    import pymongo.errors

    try:
        yield
    except (pymongo.errors.ConnectionFailure, pymongo.errors.ServerSelectionTimeoutError) as error:
        raise StoreUnavailable(f"{label} cannot be reached: {type(error).__name__}") from None


def _kernel_copy(source: IO[bytes], target: IO[bytes]) -> None:
    """The bytes copied by the kernel, without passing through Python (where it can)."""
    if not hasattr(os, "sendfile"):
        shutil.copyfileobj(source, target, CHUNK)
        return
    size, offset = os.fstat(source.fileno()).st_size, 0
    while offset < size:
        sent = os.sendfile(target.fileno(), source.fileno(), offset, size - offset)
        if sent == 0:
            break
        offset += sent


def _copy(source: IO[bytes], target: IO[bytes] | None) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if target is not None:
            target.write(chunk)
    return size, digest.hexdigest()


__all__ = ["ArtifactError", "ArtifactStore", "DirectoryArtifacts", "GridFSArtifacts"]
