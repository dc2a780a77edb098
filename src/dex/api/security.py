"""Security headers on every response (the app factory installs :class:`SecurityHeaders`).

Every answer tells browsers not to guess content types, not to leak the URL to other sites, and never to
show dex inside another site's frame (clickjacking). HTML pages also get a content security policy: they
load scripts, styles and images from dex itself only, and run no inline script. The API documentation
pages (``/docs``, ``/redoc``, served from dex's own copies of Swagger UI and ReDoc) additionally allow the
style elements those bundles insert and ReDoc's worker.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALWAYS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"strict-origin-when-cross-origin",
    b"x-frame-options": b"DENY",
}
_COMMON = "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
PAGE_POLICY = f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; {_COMMON}"
DOCS_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    f"font-src 'self' data:; worker-src 'self' blob:; {_COMMON}"
)
DOCS_PATHS = ("/docs", "/redoc")


def content_security_policy(path: str) -> str:
    return DOCS_POLICY if path.startswith(DOCS_PATHS) else PAGE_POLICY


class SecurityHeaders:
    """Adds the headers above to every HTTP response (a header the route set itself is kept). Pure ASGI,
    so streamed exports and event streams pass through unbuffered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = content_security_policy(scope["path"]).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in ALWAYS.items() if name not in present)
                content_type = next(
                    (value for name, value in headers if name.lower() == b"content-type"), b""
                )
                if content_type.startswith(b"text/html") and b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", policy))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
