"""Local receivers the alerts are sent to in the tests: an HTTP server and a small SMTP server, each in a thread
on 127.0.0.1 at a free port."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "T0KEN-s3cret"  # in every webhook URL's path: it must never show in a log or a stored document


class Receiver:
    """A webhook receiver. It answers the statuses in `answers` in turn, then 200; with `hang`, each request
    waits until `release` is set. `payloads` are the JSON bodies of the requests it answered 2xx, `hits` every
    request it got."""

    def __init__(self, answers: tuple[int, ...] = (), *, hang: bool = False, port: int = 0) -> None:
        self.answers, self.hang = list(answers), hang
        self.payloads: list[dict[str, Any]] = []
        self.hits = 0
        self.waiting = 0  # requests held by `hang` right now
        self.release = threading.Event()
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.changed:
                    receiver.hits += 1
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.waiting += receiver.hang
                    receiver.changed.notify_all()
                if receiver.hang:
                    receiver.release.wait(60)
                with receiver.changed:
                    receiver.waiting -= receiver.hang
                    if 200 <= status < 300:
                        assert self.headers["Content-Type"] == "application/json"
                        receiver.payloads.append(json.loads(body))
                    receiver.changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{TOKEN}?key={TOKEN}"

    def wait_for(self, what: str, count: int, timeout: float = 30.0) -> None:
        """Wait until `payloads`, `hits` or `waiting` reaches `count` (an AssertionError after `timeout`)."""
        with self.changed:
            reached = self.changed.wait_for(lambda: self._count(what) >= count, timeout)
        assert reached, f"{what}: {self._count(what)} of {count}"

    def _count(self, what: str) -> int:
        return len(self.payloads) if what == "payloads" else int(getattr(self, what))

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    """A port nothing listens on (a connection to it is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refused_url(port: int | None = None) -> str:
    return f"http://127.0.0.1:{port or free_port()}/hooks/{TOKEN}"


class MailReceiver:
    """An SMTP server that takes every message (no TLS, no login); `messages` are their raw texts."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.recipients: list[list[str]] = []
        receiver = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.reply("220 localhost ESMTP test")
                recipients: list[str] = []
                while line := self.rfile.readline():
                    command = line.decode().strip().upper()
                    if command.startswith(("EHLO", "HELO")):
                        self.reply("250 localhost")
                    elif command.startswith("RCPT TO:"):
                        recipients.append(line.decode().strip()[8:].strip(" <>"))
                        self.reply("250 OK")
                    elif command == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        data = []
                        while (part := self.rfile.readline()) not in (b".\r\n", b""):
                            data.append(part.decode())
                        receiver.messages.append("".join(data))
                        receiver.recipients.append(recipients)
                        self.reply("250 OK")
                    elif command == "QUIT":
                        self.reply("221 bye")
                        return
                    else:  # MAIL FROM, RSET, NOOP
                        self.reply("250 OK")

            def reply(self, text: str) -> None:
                self.wfile.write(text.encode() + b"\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            assert time.monotonic() < deadline, f"{len(self.messages)} of {count} messages"
            time.sleep(0.02)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
