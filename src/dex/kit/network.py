"""Who is on the other end of a request, as far as the network tells: the client's address and whether
it came over HTTPS, believing a proxy's ``X-Forwarded-*`` headers only when ``DEX_TRUSTED_PROXY`` says a
trusted proxy sets them (any client can send them). Used by login throttling, the audit trail and session
cookies.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from dex.config import Settings
from dex.kit.deps import SettingsDep


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
    """The client's IP address: the connection's peer, or — behind a trusted proxy — the last address of
    ``X-Forwarded-For``, the one the proxy itself saw connect. (Earlier addresses in the header come from
    the client and could be invented to dodge the per-address login throttle.)"""
    if settings.dex_trusted_proxy:
        forwarded = request.headers.get("x-forwarded-for", "").split(",")[-1].strip()
        if forwarded:
            return forwarded[:64]
    return request.client.host if request.client else None


def get_client_address(request: Request, settings: SettingsDep) -> str | None:
    return client_address(request, settings)


ClientAddress = Annotated[str | None, Depends(get_client_address)]


def cookie_secure(request: Request, settings: Settings) -> bool:
    """Whether cookies set in answer to ``request`` are ``Secure``, per ``DEX_COOKIE_SECURE`` (``auto``:
    when the request came over HTTPS)."""
    if settings.dex_cookie_secure == "auto":
        return request_is_https(request, settings)
    return settings.dex_cookie_secure == "true"


def session_cookie_params(request: Request, settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``Response.set_cookie`` of a session cookie: never readable by scripts, not
    sent on cross-site subrequests, and ``Secure`` per :func:`cookie_secure`."""
    return {"httponly": True, "samesite": "lax", "secure": cookie_secure(request, settings), "path": "/"}
