"""ASGI middlewares of the API: Host and Origin checks, a request-size guard, security headers.

The Host check answers 400 to a Host header that is not one of the API's names (DNS rebinding:
a page whose own name resolves to 127.0.0.1). The Origin check answers 403 to a write (any method
but GET, HEAD, OPTIONS) whose Origin, or without one Referer, is neither the API's own origin nor
a UI origin: a page on another site cannot post to the API through a visitor's browser, which
always sends Origin on cross-site writes. Requests with neither header (the CLI, curl, the UI
server's httpx client) are not browsers' cross-site requests and pass.

The size guard answers 413 from the Content-Length header before reading any of a body that is
too large, and counts the bytes of bodies without one (chunked), answering 413 as soon as they
pass the limit; the application never sees more than ``limit`` bytes.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
# The interactive docs load Swagger UI / ReDoc scripts from their CDN: no strict CSP there.
STRICT_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
DOCS_PATHS = ("/docs", "/redoc")


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


async def _send_json(send: Send, status: int, detail: str, close: bool = False) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def host_name(host_header: str) -> str | None:
    """The name in a Host header, lower-case, without port or IPv6 brackets (None: malformed)."""
    try:
        return urlsplit("//" + host_header).hostname
    except ValueError:
        return None


class TrustedHostMiddleware:
    """400 for a Host header that is not one of ``hosts`` ("*" answers any)."""

    def __init__(self, app: ASGIApp, hosts: list[str]) -> None:
        self.app = app
        self.hosts = {h.lower() for h in hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "*" in self.hosts:
            await self.app(scope, receive, send)
            return
        host = host_name(_header(scope, b"host") or "")
        if host not in self.hosts:
            await _send_json(
                send,
                400,
                f"unknown Host {host or '(none)'!r}: this API answers only "
                f"{', '.join(sorted(self.hosts))} (FLOWLENS_ALLOWED_HOSTS)",
            )
            return
        await self.app(scope, receive, send)


def _origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-case ("null" and junk stay as given)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    return f"{parts.scheme}://{parts.netloc}".lower()


class SameOriginMiddleware:
    """403 for writes from a page of another origin than the API's own or ``origins`` (the UI)."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.origins = {_origin_of(o) for o in origins}

    def _refused(self, scope: Scope) -> str | None:
        origin = _header(scope, b"origin")
        referer = _header(scope, b"referer")
        if origin is None and referer is None:
            return None  # not a browser's cross-site request
        source = _origin_of(origin if origin is not None else referer)
        if source in self.origins:
            return None
        if "://" in source and source.split("://", 1)[1] == (_header(scope, b"host") or "").lower():
            return None  # the API's own pages (/docs)
        which = "Origin" if origin is not None else "Referer"
        return (
            f"cross-site request refused: {which} {source!r} is neither the API's own origin nor "
            f"a UI origin ({', '.join(sorted(self.origins))}; FLOWLENS_UI_ORIGIN)"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            reason = self._refused(scope)
            if reason is not None:
                await _send_json(send, 403, reason, close=True)
                return
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope.get("path", "").startswith(DOCS_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = SECURITY_HEADERS if docs else [*SECURITY_HEADERS, STRICT_CSP]
                headers.extend((n, v) for n, v in extra if n not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit))


def _too_large(limit: int) -> str:
    return (
        f"request body too large: the limit is {limit / 1e6:.1f} MB ({limit} bytes, "
        "FLOWLENS_MAX_UPLOAD_BYTES)"
    )


class BodySizeLimitMiddleware:
    """413 for request bodies over ``limit`` bytes, declared (Content-Length) or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def _reject(self, send: Send) -> None:
        await _send_json(send, 413, _too_large(self.limit), close=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                break
        if declared is not None and declared > self.limit:
            await self._reject(send)  # nothing of the body is read
            return

        received = 0
        exceeded = False
        started = False  # a response has begun going out
        replaced = False  # ... and it is our 413: drop whatever the application sends

        async def guarded_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    exceeded = True
                    raise _BodyTooLarge(self.limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, replaced
            if replaced:
                return
            if exceeded and not started:
                # whatever the application made of the interrupted body, the answer is 413
                started = replaced = True
                await self._reject(send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except _BodyTooLarge:
            if not started:
                started = replaced = True
                await self._reject(send)
