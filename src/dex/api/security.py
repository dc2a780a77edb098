"""Browser-facing protections: security headers on every response, and the attributes of session cookies.

Every answer tells browsers not to guess content types, not to leak the URL to other sites, and never to
show dex inside another site's frame (clickjacking). HTML pages also get a content security policy: the
console's pages load scripts, styles and images from dex itself only; the API documentation pages
(``/docs``, ``/redoc``) additionally load FastAPI's documentation bundles from their CDN and run the
inline script that starts them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dex.config import Settings
from dex.kit.deps import SettingsDep

ALWAYS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"strict-origin-when-cross-origin",
    b"x-frame-options": b"DENY",
}
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {DOCS_CDN}; "
    f"style-src 'self' 'unsafe-inline' {DOCS_CDN} https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
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


def request_is_https(request: Request, settings: Settings) -> bool:
    """Whether the browser reached dex over HTTPS: the connection's own scheme, or — only when a trusted
    proxy terminates TLS in front of dex (``DEX_TRUSTED_PROXY``) — the scheme it reports in
    ``X-Forwarded-Proto``. Without that setting the header is ignored: any client can send it."""
    if request.url.scheme == "https":
        return True
    if settings.dex_trusted_proxy:
        forwarded = request.headers.get("x-forwarded-proto", "")
        # A chain of proxies lists one scheme per hop; the first is the client's.
        return forwarded.split(",")[0].strip().lower() == "https"
    return False


def client_address(request: Request, settings: Settings) -> str | None:
    """The client's IP address: the connection's peer, or — behind a trusted proxy — the first address of
    ``X-Forwarded-For`` (the client as the outermost proxy saw it)."""
    if settings.dex_trusted_proxy:
        forwarded = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
        if forwarded:
            return forwarded[:64]
    return request.client.host if request.client else None


def get_client_address(request: Request, settings: SettingsDep) -> str | None:
    return client_address(request, settings)


ClientAddress = Annotated[str | None, Depends(get_client_address)]


def session_cookie_params(request: Request, settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``Response.set_cookie`` of a session cookie: never readable by scripts, not
    sent on cross-site subrequests, and ``Secure`` per ``DEX_COOKIE_SECURE`` (``auto``: when the request
    came over HTTPS)."""
    if settings.dex_cookie_secure == "auto":
        secure = request_is_https(request, settings)
    else:
        secure = settings.dex_cookie_secure == "true"
    return {"httponly": True, "samesite": "lax", "secure": secure, "path": "/"}
