"""Where alerts go: webhooks (an HTTP POST of the JSON payload) and e-mail through SMTP.

A destination has a `name` made from a hash of its address, under which the alert log records deliveries,
and a `label` for log lines; neither holds a secret (a webhook's path and query, which carry its token, and
the SMTP password are never shown). SMTP settings come from `EPOCHLOG_SMTP_*` in the environment, else from
a `.env` file in the working directory; there is no default password.
"""

from __future__ import annotations

import hashlib
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import EpochlogError, InvalidArgument

SMTP_PREFIX = "EPOCHLOG_SMTP_"
SECURITY = ("starttls", "ssl", "none")
_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


class DeliveryError(EpochlogError):
    """A destination did not take an alert; the message says why and names no secret (nor the destination:
    callers prefix its `label`)."""


class Destination(ABC):
    """One place alerts are sent to."""

    name: str  # the key of its deliveries in the alert log: kind and a hash of the address
    label: str  # for log lines

    @abstractmethod
    def send(self, payload: Mapping[str, Any]) -> None:
        """Deliver one alert's payload; DeliveryError when it was not taken."""


class Webhook(Destination):
    """POSTs the payload as JSON to an http(s) URL; any 2xx answer is a delivery."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        try:
            parts = urlsplit(url.strip())
        except ValueError:  # an unbalanced [ of an IPv6 host
            raise InvalidArgument("--webhook takes an http:// or https:// URL, got a malformed one") from None
        try:
            port = f":{parts.port}" if parts.port else ""
        except ValueError:  # a port that is no number
            port = None
        if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
            shown = f"{parts.scheme}://{parts.hostname or ''}/…" if parts.scheme else "a URL without a scheme"
            raise InvalidArgument(f"--webhook takes an http:// or https:// URL with a host, got {shown}")
        self.url, self.timeout = url.strip(), timeout
        self.label = f"webhook {parts.scheme}://{parts.hostname}{port}/…"
        self.name = "webhook_" + hashlib.sha256(self.url.encode()).hexdigest()[:12]

    def send(self, payload: Mapping[str, Any]) -> None:
        import urllib.error
        import urllib.request

        from .. import __version__

        request = urllib.request.Request(self.url, data=json.dumps(payload).encode(), method="POST", headers={
            "Content-Type": "application/json", "User-Agent": f"epochlog/{__version__}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            raise DeliveryError(f"answered HTTP {error.code}") from None
        except urllib.error.URLError as error:
            raise DeliveryError(self._clean(error.reason)) from None
        except (OSError, ValueError) as error:  # a timeout, a reset connection, a malformed answer
            raise DeliveryError(self._clean(error)) from None

    def _clean(self, reason: Any) -> str:
        return str(reason).replace(self.url, self.label) or type(reason).__name__


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the mail server: `EPOCHLOG_SMTP_HOST`, `_PORT`, `_USER`, `_PASSWORD`, `_FROM`, `_SECURITY`
    (`starttls`, the default, `ssl` or `none`)."""

    host: str
    port: int
    sender: str
    security: str = "starttls"
    user: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never the password
        return f"SmtpSettings({self.user + '@' if self.user else ''}{self.host}:{self.port}, {self.security})"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
                         ) -> SmtpSettings:
        """The settings from `environ` (default `os.environ`), each missing one from the `dotenv` file;
        InvalidArgument naming the variable that is missing or wrong."""
        values = {**(read_dotenv(dotenv) if dotenv is not None else {}), **(os.environ if environ is None else environ)}

        def get(name: str) -> str | None:
            value = values.get(SMTP_PREFIX + name, "").strip()
            return value or None

        host = get("HOST")
        if host is None:
            raise InvalidArgument(f"--email needs a mail server: set {SMTP_PREFIX}HOST (and _PORT, _USER, "
                                  f"_PASSWORD, _FROM, _SECURITY as needed) in the environment or .env")
        security = (get("SECURITY") or "starttls").lower()
        if security not in SECURITY:
            raise InvalidArgument(f"{SMTP_PREFIX}SECURITY must be starttls, ssl or none, got {security!r}")
        port_text = get("PORT")
        try:
            port = int(port_text) if port_text else _PORTS[security]
        except ValueError:
            raise InvalidArgument(f"{SMTP_PREFIX}PORT must be a port number, got {port_text!r}") from None
        user, password = get("USER"), values.get(SMTP_PREFIX + "PASSWORD") or None
        if (user is None) != (password is None):
            raise InvalidArgument(f"set both {SMTP_PREFIX}USER and {SMTP_PREFIX}PASSWORD, or neither")
        sender = get("FROM") or user
        if sender is None:
            raise InvalidArgument(f"--email needs a sender address: set {SMTP_PREFIX}FROM")
        return cls(host, port, sender, security, user, password)


class Email(Destination):
    """Mails the alert (its text as the subject, the payload as the body) to `recipients`."""

    def __init__(self, recipients: Sequence[str], settings: SmtpSettings, *, timeout: float = 30.0) -> None:
        for address in recipients:
            if address.count("@") != 1 or any(char.isspace() for char in address) or address.startswith("@") \
                    or address.endswith("@"):
                raise InvalidArgument(f"--email takes an e-mail address, got {address!r}")
        if not recipients:
            raise InvalidArgument("--email needs at least one address")
        self.recipients, self.settings, self.timeout = list(recipients), settings, timeout
        self.label = f"e-mail to {', '.join(self.recipients)} via {settings.host}:{settings.port}"
        self.name = "email_" + hashlib.sha256(",".join(sorted(self.recipients)).encode()).hexdigest()[:12]

    def send(self, payload: Mapping[str, Any]) -> None:
        import smtplib
        from email.message import EmailMessage

        message = EmailMessage()
        message["Subject"] = f"[epochlog] {' '.join(str(payload.get('text', payload.get('event'))).split())}"[:200]
        message["From"], message["To"] = self.settings.sender, ", ".join(self.recipients)
        message.set_content(f"{payload.get('text', '')}\n\n{json.dumps(payload, indent=2)}\n")
        settings = self.settings
        try:
            smtp: smtplib.SMTP = (smtplib.SMTP_SSL if settings.security == "ssl" else smtplib.SMTP)(
                settings.host, settings.port, timeout=self.timeout)
            with smtp:
                if settings.security == "starttls":
                    smtp.starttls()
                if settings.user is not None and settings.password is not None:
                    smtp.login(settings.user, settings.password)
                smtp.send_message(message)
        except smtplib.SMTPResponseException as error:
            raise DeliveryError(f"answered {error.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"{type(error).__name__}: {error}".replace(settings.password or "\0", "***")) from None


def read_dotenv(path: Path) -> dict[str, str]:
    """`KEY=value` lines of a `.env` file (`export`, quotes and `#` comments understood); empty if there is
    none or it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    found: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        found[key.strip()] = value
    return found


__all__ = ["SECURITY", "DeliveryError", "Destination", "Email", "SmtpSettings", "Webhook", "read_dotenv"]
