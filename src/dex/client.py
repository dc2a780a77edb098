"""What the ``dex`` command uses to drive a dex API: a remote server (``--api-url`` + token) or one it
starts in-process on the local database ("local mode", acting as the super-admin of a default org)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import aiohttp

from dex.errors import DexError

TERMINAL_SUBMISSION_STATUSES = {"completed", "failed", "canceled"}
DOWNLOAD_CHUNK_BYTES = 1 << 16


class ByteSink(Protocol):
    """Where a streamed download goes: an open binary file, or anything else that takes bytes."""

    def write(self, data: bytes, /) -> object: ...


class ApiError(DexError):
    """The API answered with an error envelope (``status``: its HTTP status)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _api_error(path: str, payload: Any, status: int) -> ApiError:
    message = payload.get("error", payload) if isinstance(payload, dict) else payload
    return ApiError(f"{path}: {message}", status)


async def _json(response: aiohttp.ClientResponse, path: str) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:
        raise ApiError(
            f"{path}: {response.url.origin()} answered HTTP {response.status} without JSON (not a dex API?)",
            response.status,
        ) from None


@dataclass
class DexClient:
    http: aiohttp.ClientSession
    base_url: str
    headers: dict[str, str]
    # Set in local mode (super-admin credentials): requests name the org and company they act for.
    org_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None

    async def post(self, path: str, body: dict[str, Any], *, headers: dict[str, str] | None = None) -> Any:
        return await self._send(path, headers, json=body)

    async def _send(self, path: str, headers: dict[str, str] | None, **request: Any) -> Any:
        """POST and unwrap the ``data`` envelope (``request``: the JSON body or form data)."""
        async with self.http.post(
            f"{self.base_url}{path}", headers={**self.headers, **(headers or {})}, **request
        ) as response:
            payload = await _json(response, path)
        if response.status >= 400:
            raise _api_error(path, payload, response.status)
        return payload["data"]

    async def download(self, path: str, body: dict[str, Any], sink: ByteSink) -> int:
        """Write a streamed (non-JSON) response into ``sink`` chunk by chunk; returns the bytes written."""
        async with self.http.post(f"{self.base_url}{path}", json=body, headers=self.headers) as response:
            if response.status >= 400:
                raise _api_error(path, await _json(response, path), response.status)
            written = 0
            async for chunk in response.content.iter_chunked(DOWNLOAD_CHUNK_BYTES):
                sink.write(chunk)
                written += len(chunk)
        return written

    async def export_entities(
        self, entity_type: str, fmt: str, sink: ByteSink, *, updated_since: datetime | None = None
    ) -> int:
        body: dict[str, Any] = {"entity_type": entity_type, "format": fmt}
        if updated_since is not None:
            body["updated_since"] = updated_since.isoformat()
        return await self.download("/api/v1/entities/export", self._scoped(body), sink)

    def _scoped(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "org_id": str(self.org_id)} if self.org_id else body

    @property
    def _blueprints(self) -> str:
        return "/api/super-admin/blueprints" if self.org_id else "/api/blueprints"

    async def blueprints(self) -> AsyncIterator[dict[str, Any]]:
        """Every blueprint of the org, page by page."""
        offset = 0
        while True:
            page = await self.post(
                f"{self._blueprints}/list", self._scoped({"limit": 1000, "offset": offset})
            )
            for blueprint in page:
                yield blueprint
            if len(page) < 1000:
                return
            offset += 1000

    async def find_blueprint(self, name: str) -> dict[str, Any] | None:
        async for blueprint in self.blueprints():
            if blueprint["name"] == name:
                return blueprint
        return None

    async def get_blueprint(self, blueprint_id: str) -> dict[str, Any]:
        """The blueprint with its steps."""
        return await self.post(f"{self._blueprints}/get", {"id": blueprint_id})

    async def ensure_blueprint(self, definition: dict[str, Any]) -> dict[str, Any]:
        existing = await self.find_blueprint(definition["name"])
        if existing is not None:
            return existing
        return await self.create_blueprint(definition)

    async def create_blueprint(self, definition: dict[str, Any]) -> dict[str, Any]:
        return await self.post(f"{self._blueprints}/create", self._scoped(definition))

    async def assemble(self, request: dict[str, Any]) -> dict[str, Any]:
        """The blueprint the assembler proposes (``/api/v1/blueprints/assemble``); nothing is saved."""
        return await self.post("/api/v1/blueprints/assemble", request)

    async def submit(
        self,
        blueprint_id: str,
        entities: list[dict[str, Any]],
        *,
        company_id: str | None = None,
        source: str = "cli",
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        body = self._scoped({"blueprint_id": blueprint_id, "entities": entities, "source": source})
        company = company_id or (str(self.company_id) if self.company_id else None)
        if company:
            body["company_id"] = company
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return await self.post("/api/v1/batch/submit", body, headers=headers)

    async def submit_csv(
        self,
        blueprint_id: str,
        data: bytes,
        *,
        filename: str,
        company_id: str | None = None,
        column_map: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Upload a CSV; the server checks the rows and reports the ones it left out."""
        form = aiohttp.FormData()
        form.add_field("file", data, filename=filename, content_type="text/csv")
        form.add_field("blueprint_id", blueprint_id)
        company = company_id or (str(self.company_id) if self.company_id else None)
        if company:
            form.add_field("company_id", company)
        if self.org_id:
            form.add_field("org_id", str(self.org_id))
        if column_map:
            form.add_field("column_map", json.dumps(column_map))
        return await self._send("/api/v1/batch/submit-csv", None, data=form)

    async def status(self, submission_id: str, *, limit: int = 1000, offset: int = 0) -> dict[str, Any]:
        return await self.post(
            "/api/v1/batch/status",
            self._scoped({"submission_id": submission_id, "limit": limit, "offset": offset}),
        )

    async def events(self, submission_id: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """The submission's Server-Sent Events as (event, data) until the server closes the stream."""
        path = "/api/v1/batch/events"
        params = {"submission_id": submission_id, **({"org_id": str(self.org_id)} if self.org_id else {})}
        async with self.http.get(
            f"{self.base_url}{path}",
            params=params,
            headers={**self.headers, "Accept": "text/event-stream"},
            # The server writes at least a keep-alive every 15 s; a silent minute means it is gone.
            timeout=aiohttp.ClientTimeout(total=None, sock_read=60),
        ) as response:
            if response.status >= 400:
                raise _api_error(path, await _json(response, path), response.status)
            event, data = "message", list[str]()
            async for raw in response.content:
                line = raw.decode().rstrip("\r\n")
                if not line:
                    if data:
                        yield event, json.loads("\n".join(data))
                    event, data = "message", []
                    continue
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "event":
                    event = value
                elif name == "data":
                    data.append(value)

    async def follow(self, submission_id: str, on_progress: Callable[[dict[str, Any]], None]) -> None:
        """Until the submission has finished, ``on_progress`` gets each summary: live from the event stream
        (reopened whenever the server closes it), or by polling if the server offers no stream."""
        try:
            while True:
                async for event, data in self.events(submission_id):
                    if event in ("snapshot", "summary", "end"):
                        on_progress(data)
                    if event == "end":
                        return
        except (ApiError, aiohttp.ClientError, TimeoutError, ValueError):
            await self.wait(submission_id, on_progress)

    async def wait(
        self, submission_id: str, on_progress: Callable[[dict[str, Any]], None], *, interval: float = 0.25
    ) -> dict[str, Any]:
        """Poll until the submission is finished; ``on_progress`` gets each summary."""
        while True:
            status = await self.status(submission_id, limit=1)
            on_progress(status["summary"])
            if status["submission"]["status"] in TERMINAL_SUBMISSION_STATUSES:
                return status
            await asyncio.sleep(interval)


@asynccontextmanager
async def _api_session(api_url: str) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP session for the API at ``api_url``; a server that cannot be reached is one clear error."""
    async with aiohttp.ClientSession() as http:
        try:
            yield http
        except aiohttp.ClientConnectionError as exc:
            raise DexError(
                f"cannot reach the dex API at {api_url} ({exc}): is `dex serve` running?"
            ) from None


@asynccontextmanager
async def remote_client(api_url: str, token: str) -> AsyncIterator[DexClient]:
    async with _api_session(api_url) as http:
        yield DexClient(http, api_url.rstrip("/"), {"Authorization": f"Bearer {token}"})


async def log_in(api_url: str, email: str, password: str) -> tuple[str, dict[str, Any]]:
    """A session token for the user (``POST /api/auth/login``) and who it acts as (``/api/auth/me``)."""
    async with _api_session(api_url) as http:
        anonymous = DexClient(http, api_url.rstrip("/"), {})
        session = await anonymous.post("/api/auth/login", {"email": email, "password": password})
        token = session["access_token"]
        signed_in = DexClient(http, anonymous.base_url, {"Authorization": f"Bearer {token}"})
        return token, await signed_in.post("/api/auth/me", {})
