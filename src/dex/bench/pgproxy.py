"""A counting proxy between dex and PostgreSQL: how many round trips and statements dex sends.

The embedded server has no ``pg_stat_statements`` and PostgreSQL's cumulative statistics count
transactions and rows, not statements. So dex's database URL points at this proxy (a Unix socket in the
bench process), which forwards bytes unchanged and reads the frontend protocol's message headers:

- a **round trip** is a message the client must wait for ``ReadyForQuery`` after: ``Sync`` (the end of
  an extended-protocol exchange: one pipelined Parse/Bind/Execute… group) or ``Query`` (simple protocol);
- a **statement** is an ``Execute`` or a ``Query``;
- a **prepare** is a ``Parse`` (asyncpg caches prepared statements per connection).

Only headers are read (type byte and length), so bodies of any size cost nothing to skip. Clients must
connect without TLS: asyncpg never attempts TLS on a Unix socket, and the proxy reaches the real server
without TLS (a server that requires TLS needs ``--no-count-round-trips``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import cast
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

# Startup-packet codes of requests that precede the StartupMessage (another untyped message follows).
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104


class FrontendCounter:
    """Counts message types in one client→server byte stream, fed in arbitrary chunks."""

    def __init__(self, counts: Counter[str]) -> None:
        self.counts = counts
        self._header = bytearray()
        self._skip = 0
        # Startup-phase messages carry no type byte.
        self._untyped = True

    def feed(self, data: bytes) -> None:
        position, end = 0, len(data)
        while position < end:
            if self._skip:
                step = min(self._skip, end - position)
                self._skip -= step
                position += step
                continue
            header_size = 8 if self._untyped else 5
            taken = data[position : position + header_size - len(self._header)]
            self._header += taken
            position += len(taken)
            if len(self._header) < header_size:
                return
            if self._untyped:
                length = int.from_bytes(self._header[:4], "big")
                code = int.from_bytes(self._header[4:8], "big")
                self._untyped = code in (SSL_REQUEST, GSSENC_REQUEST)
                self._skip = length - 8
            else:
                self.counts[chr(self._header[0])] += 1
                self._skip = int.from_bytes(self._header[1:5], "big") - 4
            self._header.clear()


def upstream_address(libpq_url: str) -> tuple[str, int | str]:
    """``("unix", path)`` or ``(host, port)`` of a ``postgresql://`` URL, as libpq would resolve it."""
    parts = urlsplit(libpq_url)
    query = dict(parse_qsl(parts.query))
    host = query.get("host") or unquote(parts.hostname or "") or "/tmp"
    port = int(query.get("port") or parts.port or 5432)
    if host.startswith("/"):
        return "unix", f"{host}/.s.PGSQL.{port}"
    return host, port


def proxied_url(libpq_url: str, socket_dir: Path) -> str:
    """The same URL (user, password, database, options) reaching the server through the proxy's socket."""
    parts = urlsplit(libpq_url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("host", "port", "sslmode", "ssl")]
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@" if credentials else ""
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode([*query, ("host", str(socket_dir))]), ""))


class _Forwarder(asyncio.Protocol):
    """The receiving end of one direction of a proxied connection: what arrives is observed, then
    written to the other connection. A full outgoing buffer pauses reading on this side (backpressure)."""

    def __init__(self, observe: Callable[[bytes], None]) -> None:
        self.observe = observe
        self.transport: asyncio.Transport | None = None
        self.peer: _Forwarder | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.observe(data)
        assert self.peer is not None and self.peer.transport is not None
        self.peer.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        # Either side closing ends the connection, as it would a direct one.
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


class _ClientSide(_Forwarder):
    """A connection dex made to the proxy: silent until its connection to the real server is up."""

    def __init__(self, proxy: RoundTripProxy) -> None:
        super().__init__(self._count)
        self.proxy = proxy
        self.counter = FrontendCounter(proxy.counts)

    def _count(self, data: bytes) -> None:
        self.counter.feed(data)
        self.proxy.bytes_to_server += len(data)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        cast(asyncio.Transport, transport).pause_reading()
        self.proxy.connect_upstream(self)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.proxy.disconnected(self)


class RoundTripProxy:
    """Forwards every connection made to ``<socket_dir>/.s.PGSQL.5432`` to the real server."""

    def __init__(self, upstream_libpq_url: str, socket_dir: Path) -> None:
        self.upstream = upstream_address(upstream_libpq_url)
        self.url = proxied_url(upstream_libpq_url, socket_dir)
        self.socket_path = socket_dir / ".s.PGSQL.5432"
        self.counts: Counter[str] = Counter()
        self.bytes_to_server = 0
        self.bytes_to_client = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._clients: set[_ClientSide] = set()
        self._connecting: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_unix_server(lambda: _ClientSide(self), path=str(self.socket_path))

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for client in self._clients:
            if client.transport is not None:
                client.transport.close()
        await asyncio.gather(*self._connecting, return_exceptions=True)
        await self._server.wait_closed()

    def totals(self) -> dict[str, int]:
        return {
            "round_trips": self.counts["S"] + self.counts["Q"],
            "statements": self.counts["E"] + self.counts["Q"],
            "prepares": self.counts["P"],
            "connections": self.connections,
            "bytes_to_server": self.bytes_to_server,
            "bytes_to_client": self.bytes_to_client,
        }

    def connect_upstream(self, client: _ClientSide) -> None:
        self.connections += 1
        self._clients.add(client)
        task = asyncio.get_running_loop().create_task(self._link(client))
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)

    async def _link(self, client: _ClientSide) -> None:
        loop = asyncio.get_running_loop()
        server = _Forwarder(self._count_to_client)
        host, port = self.upstream
        assert client.transport is not None
        try:
            if host == "unix":
                await loop.create_unix_connection(lambda: server, str(port))
            else:
                await loop.create_connection(lambda: server, host, int(port))
        except OSError:
            client.transport.close()
            self._clients.discard(client)
            return
        client.peer, server.peer = server, client
        if client.transport.is_closing():  # dex gave up while the proxy was connecting
            assert server.transport is not None
            server.transport.close()
        else:
            client.transport.resume_reading()

    def disconnected(self, client: _ClientSide) -> None:
        self._clients.discard(client)

    def _count_to_client(self, data: bytes) -> None:
        self.bytes_to_client += len(data)
