"""Where webhooks may be sent. Tenants name the URLs, so by default dex refuses destinations on loopback,
private, link-local and other non-public addresses (a webhook must not become a way into the network dex
runs in); ``DEX_WEBHOOK_ALLOW_PRIVATE_URLS=true`` allows them, e.g. for a receiver on the same host."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class DestinationRefused(ValueError):
    pass


async def check_destination(url: str, *, allow_private: bool) -> None:
    """Raise :class:`DestinationRefused` unless ``url`` is http(s) and, when private addresses are not
    allowed, every address its host resolves to is public. Checked at creation and before each delivery
    (DNS may change in between)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused("webhook URLs must be http:// or https:// URLs with a host")
    if parts.username or parts.password:
        raise DestinationRefused("webhook URLs must not carry credentials")
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except OSError as exc:
        raise DestinationRefused(f"cannot resolve {parts.hostname}") from exc
    for *_, address in infos:
        if not ipaddress.ip_address(address[0]).is_global:
            raise DestinationRefused(f"{parts.hostname} resolves to a non-public address")
