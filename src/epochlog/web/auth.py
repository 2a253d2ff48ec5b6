"""Who may use the dashboard: everyone on localhost (read-only), or whoever holds the token.

Without a token the dashboard is read-only and answers only to requests addressed to a loopback name,
so a web page elsewhere cannot reach it through DNS rebinding. With a token (EPOCHLOG_UI_TOKEN) every
page and API call needs it: as `Authorization: Bearer <token>`, or as the cookie a browser gets by
opening any page once with `?token=<token>`. Notes and tags can be edited only then.
"""

from __future__ import annotations

import html
import secrets
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..loopback import is_loopback
from .jsonable import DocumentResponse

COOKIE = "epochlog_token"
TOKEN_ENV = "EPOCHLOG_UI_TOKEN"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header[1:host_header.find("]")] if "]" in host_header else host_header
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class TokenGate:
    """ASGI middleware enforcing the rules in this module's docstring."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token or None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response = self._refusal(scope)
        if response is None:
            await self.app(scope, receive, send)
        else:
            await response(scope, receive, send)

    def _refusal(self, scope: Scope) -> Response | None:
        path: str = scope["path"]
        method: str = scope["method"]
        headers = Headers(scope=scope)
        if path.startswith("/static/"):
            return None  # code and styles only; no data
        is_api = path.startswith("/api/") or path == "/openapi.json"
        if self.token is None:
            if not is_loopback(_host_name(headers.get("host", ""))):
                return _error(is_api, 403, "this dashboard answers on localhost only; to serve it on another "
                              f"address, start it with a token ({TOKEN_ENV})")
            if method not in _SAFE_METHODS:
                return _error(True, 403, f"the dashboard is read-only: start it with a token ({TOKEN_ENV}) "
                              "to edit notes and tags")
            return None
        if self._matches(_presented(headers)):
            return None
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        if not is_api and method in _SAFE_METHODS and self._matches(query.get("token")):
            query.pop("token")
            target = path + ("?" + urlencode(query) if query else "")
            redirect = RedirectResponse(target, status_code=303)
            redirect.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
            return redirect
        if is_api:
            response = _error(True, 401, "this dashboard needs its token: send `Authorization: Bearer <token>`")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        return HTMLResponse(_LOGIN.replace("%%PATH%%", html.escape(path, quote=True)), status_code=401)

    def _matches(self, presented: str | None) -> bool:
        assert self.token is not None
        return presented is not None and secrets.compare_digest(presented.encode(), self.token.encode())


def _presented(headers: Headers) -> str | None:
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    cookie_header = headers.get("cookie")
    if cookie_header:
        cookies: SimpleCookie = SimpleCookie()
        try:
            cookies.load(cookie_header)
        except Exception:  # a malformed Cookie header is the client's problem, not a server error
            return None
        if COOKIE in cookies:
            return cookies[COOKIE].value
    return None


def _error(is_api: bool, status: int, message: str) -> Response:
    if is_api:
        return DocumentResponse({"error": message}, status_code=status)
    return HTMLResponse(_MESSAGE.replace("%%MESSAGE%%", html.escape(message)), status_code=status)


def token_from(value: Any) -> str | None:
    """A usable token, or None for '' and None."""
    return value if isinstance(value, str) and value else None


_STYLE = """<style>body{font:15px system-ui,sans-serif;background:#f4f5f7;color:#1f2430;display:grid;
place-items:center;height:100vh;margin:0}form,div.box{background:#fff;border:1px solid #dde1e8;border-radius:8px;
padding:28px 32px;min-width:320px;box-shadow:0 1px 3px rgba(0,0,0,.06)}h1{font-size:18px;margin:0 0 14px}
input{font:inherit;padding:7px 9px;border:1px solid #c4cad4;border-radius:5px;width:100%;box-sizing:border-box;
margin:6px 0 14px}button{font:inherit;background:#2f6fdf;color:#fff;border:0;border-radius:5px;padding:7px 16px;
cursor:pointer}p{color:#5b6474;margin:0 0 8px}</style>"""

_LOGIN = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>epochlog · sign in</title>
{_STYLE}</head><body><form method="get" action="%%PATH%%"><h1>epochlog dashboard</h1>
<p>This dashboard is protected by a token.</p><label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus>
<button type="submit">Open</button></form></body></html>"""

_MESSAGE = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>epochlog</title>{_STYLE}</head>
<body><div class="box"><h1>epochlog dashboard</h1><p>%%MESSAGE%%</p></div></body></html>"""
