"""A loopback MongoDB wire-protocol proxy that acts as a server where the account holds only the `read` role.

The test server (FerretDB 1.x) has no roles, so this proxy stands in for MongoDB's authorization: every
OP_MSG command is forwarded unchanged unless MongoDB 7 would refuse it to a user with the built-in `read`
role on the database, and then it is answered as MongoDB answers, with
`{ok: 0, errmsg: "not authorized on <db> to execute command { ... }", code: 13, codeName: "Unauthorized"}`.

What `read` may run comes from MongoDB's manual (Built-In Roles, Privilege Actions): its actions are `find`
(find, getMore, count, distinct, aggregate without `$out`/`$merge`/`$indexStats`, explain of those, killCursors,
listCollections, listIndexes, mapReduce to inline output), `collStats`, `dbStats`, `dbHash`, `listIndexes`,
`listCollections`, `killCursors` and `changeStream`; commands that need no privilege (the handshake, ping,
authentication, sessions) pass as well. Anything else (insert, update, delete, findAndModify, createIndexes,
dropIndexes, create, drop, dropDatabase, serverStatus, ...) is refused: an allow-list, so a command nobody
thought of is refused too, as on a real server.

Only OP_MSG carries commands from pymongo 4 after the first handshake (an OP_QUERY `hello`, passed through).
OP_COMPRESSED is used only when the client configures compressors; the proxy cannot look inside it and
drops the connection rather than let a write through unseen.
"""

from __future__ import annotations

import datetime as dt
import itertools
import socket
import struct
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import bson
from bson import Binary, ObjectId, Timestamp

OP_MSG = 2013
OP_COMPRESSED = 2012
_CHECKSUM_PRESENT = 1
_MORE_TO_COME = 1 << 1

_NO_PRIVILEGE = {"hello", "isMaster", "ismaster", "buildInfo", "buildinfo", "ping", "saslStart", "saslContinue",
                 "authenticate", "logout", "getnonce", "endSessions", "startSession", "refreshSessions",
                 "connectionStatus", "whatsmyuri", "listCommands", "abortTransaction", "commitTransaction"}
_READ_ROLE = {"find", "getMore", "killCursors", "count", "distinct", "aggregate", "explain", "listCollections",
              "listIndexes", "listSearchIndexes", "collStats", "dbStats", "dataSize", "dbHash", "listDatabases",
              "mapReduce"}
_WRITING_STAGES = {"$out", "$merge", "$indexStats"}  # need insert/remove/update or indexStats, not in `read`


def allowed(command: dict[str, Any]) -> bool:
    """Whether MongoDB lets an account with only the `read` role run this command document."""
    name = next(iter(command), "")
    if name in _NO_PRIVILEGE:
        return True
    if name not in _READ_ROLE:
        return False
    if name == "aggregate":
        return not any(isinstance(stage, dict) and _WRITING_STAGES & set(stage) for stage in command.get("pipeline", []))
    if name == "mapReduce":
        return isinstance(command.get("out"), dict) and "inline" in command["out"]
    if name == "explain":
        inner = command.get("explain")
        return isinstance(inner, dict) and allowed(inner)
    return True


def shell_form(value: Any) -> str:
    """A value as MongoDB's server prints a command in its messages: `{ insert: "runs", ordered: true }`."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key}: {shell_form(item)}" for key, item in value.items()) + " }" if value else "{}"
    if isinstance(value, list):
        return "[ " + ", ".join(shell_form(item) for item in value) + " ]" if value else "[]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, ObjectId):
        return f"ObjectId('{value}')"
    if isinstance(value, (uuid.UUID, Binary)) and (isinstance(value, uuid.UUID) or value.subtype == 4):
        return f'UUID("{value if isinstance(value, uuid.UUID) else uuid.UUID(bytes=bytes(value))}")'
    if isinstance(value, Binary):
        return f"BinData({value.subtype}, {bytes(value).hex().upper()})"
    if isinstance(value, Timestamp):
        return f"Timestamp({value.time}, {value.inc})"
    if isinstance(value, dt.datetime):
        return f"new Date({int(value.timestamp() * 1000)})"
    if value is None:
        return "null"
    return repr(value)


def unauthorized(command: dict[str, Any]) -> dict[str, Any]:
    """MongoDB 7's answer to a command the account's roles do not allow."""
    return {"ok": 0.0, "errmsg": f"not authorized on {command.get('$db', 'admin')} to execute command "
                                 f"{shell_form(command)}", "code": 13, "codeName": "Unauthorized"}


def _read_message(sock: socket.socket) -> bytes | None:
    """One whole wire-protocol message, or None once the peer has closed."""
    header = _read_exactly(sock, 4)
    if header is None:
        return None
    (length,) = struct.unpack("<i", header)
    rest = _read_exactly(sock, length - 4)
    return None if rest is None else header + rest


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        try:
            chunk = sock.recv(size - len(chunks))
        except OSError:
            return None
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def _command_of(message: bytes) -> tuple[int, dict[str, Any]] | None:
    """An OP_MSG's flag bits and its body (section kind 0), None for other opcodes."""
    (opcode,) = struct.unpack_from("<i", message, 12)
    if opcode == OP_COMPRESSED:
        raise ConnectionAbortedError("OP_COMPRESSED: the proxy cannot see the command inside")
    if opcode != OP_MSG:
        return None
    (flags,) = struct.unpack_from("<I", message, 16)
    end = len(message) - (4 if flags & _CHECKSUM_PRESENT else 0)
    offset = 20
    while offset < end:
        kind = message[offset]
        offset += 1
        (size,) = struct.unpack_from("<i", message, offset)
        if kind == 0:
            return flags, bson.decode(message[offset:offset + size])
        offset += size  # kind 1: a document sequence, its size counts itself
    raise ValueError("an OP_MSG without a body section")


class ReadOnlyProxy:
    """Listens on 127.0.0.1 and forwards to `upstream` (host:port) as a server granting only `read` would.

    `refused` lists the names of the commands it answered with Unauthorized, in order.
    """

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self.refused: list[str] = []
        self._ids = itertools.count(1 << 30)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            write_lock = threading.Lock()  # replies of both directions reach the client whole
            threading.Thread(target=self._from_client, args=(client, server, write_lock), daemon=True).start()
            threading.Thread(target=self._from_server, args=(server, client, write_lock), daemon=True).start()

    def _from_client(self, client: socket.socket, server: socket.socket, write_lock: threading.Lock) -> None:
        try:
            while (message := _read_message(client)) is not None:
                parsed = _command_of(message)
                if parsed is None or allowed(parsed[1]):
                    server.sendall(message)
                    continue
                flags, command = parsed
                self.refused.append(next(iter(command)))
                if flags & _MORE_TO_COME:
                    continue  # an unacknowledged write: MongoDB drops it and answers nothing
                body = bson.encode(unauthorized(command))
                (request_id,) = struct.unpack_from("<i", message, 4)
                reply = struct.pack("<iiiiIB", 16 + 4 + 1 + len(body), next(self._ids), request_id, OP_MSG, 0, 0)
                with write_lock:
                    client.sendall(reply + body)
        except (OSError, ValueError):
            pass
        finally:
            _shut(client, server)

    def _from_server(self, server: socket.socket, client: socket.socket, write_lock: threading.Lock) -> None:
        try:
            while (message := _read_message(server)) is not None:
                with write_lock:
                    client.sendall(message)
        except OSError:
            pass
        finally:
            _shut(client, server)

    def uri(self, database: str) -> str:
        return f"mongodb://127.0.0.1:{self.port}/{database}"

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                _shut(sock)


def _shut(*sockets: socket.socket) -> None:
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


@contextmanager
def read_only_proxy(upstream_uri: str) -> Iterator[ReadOnlyProxy]:
    """A proxy in front of the server of `upstream_uri` (one host, `mongodb://host:port/...`)."""
    hosts = upstream_uri.partition("://")[2].split("/", 1)[0].rsplit("@", 1)[-1]
    proxy = ReadOnlyProxy(hosts)
    try:
        yield proxy
    finally:
        proxy.close()
