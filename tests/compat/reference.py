"""The original system's 71 HTTP endpoints (one POST each, but ``GET /health``), and a client that
records which of them a test called with which answer, so the suite can prove it drove every one."""

from __future__ import annotations

from typing import Any

import httpx

SUPER_ADMIN_CRUD = {
    "orgs": ("create", "list", "get", "update"),
    "companies": ("create", "list", "get"),
    "users": ("create", "list", "get", "deactivate"),
    "steps": ("register", "list", "get", "update", "deactivate"),
    "blueprints": ("create", "list", "get", "update"),
    "api-tokens": ("create", "list", "revoke"),
    "submissions": ("create", "list", "get"),
    "pipeline-runs": ("list", "get", "retry"),
    "step-results": ("list",),
}
TENANT = {
    "companies": ("list", "get"),
    "blueprints": ("list", "get", "create", "update"),
    "steps": ("list", "get"),
    "users": ("list", "get"),
    "submissions": ("create", "list", "get"),
    "pipeline-runs": ("list", "get"),
    "step-results": ("list",),
}
INTERNAL = (
    "pipeline-runs/get",
    "pipeline-runs/update-status",
    "step-results/update",
    "step-results/mark-remaining-skipped",
    "submissions/update-status",
    "submissions/sync-status",
    "pipeline-runs/fan-out",
    "entity-state/upsert",
    "entity-state/check-freshness",
    "entity-timeline/record-step-event",
)

REFERENCE_ENDPOINTS = frozenset(
    {
        "/health",
        "/api/auth/login",
        "/api/auth/me",
        "/api/super-admin/login",
        "/api/super-admin/me",
        *(
            f"/api/super-admin/{kind}/{action}"
            for kind, actions in SUPER_ADMIN_CRUD.items()
            for action in actions
        ),
        *(f"/api/{kind}/{action}" for kind, actions in TENANT.items() for action in actions),
        "/api/v1/execute",
        "/api/v1/batch/submit",
        "/api/v1/batch/status",
        "/api/v1/registry/operations",
        "/api/v1/blueprints/assemble",
        "/api/v1/entities/companies",
        "/api/v1/entities/persons",
        "/api/v1/entities/timeline",
        "/api/v1/entities/snapshots",
        "/api/v1/coverage/check",
        *(f"/api/internal/{path}" for path in INTERNAL),
    }
)


class RecordingClient:
    """Posts JSON like a client of the original system, and remembers every reference endpoint called."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.called: set[str] = set()

    async def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        if path in REFERENCE_ENDPOINTS:
            self.called.add(path)
        return await self.client.post(path, json=body, headers=headers or {})

    async def get(self, path: str) -> httpx.Response:
        if path in REFERENCE_ENDPOINTS:
            self.called.add(path)
        return await self.client.get(path)

    async def data(
        self, path: str, body: Any, headers: dict[str, str] | None = None, *, status: int = 200
    ) -> Any:
        """The ``data`` of a ``{"data": …}`` answer with ``status``."""
        response = await self.post(path, body, headers)
        assert response.status_code == status, f"{path}: {response.status_code} {response.text}"
        payload = response.json()
        assert set(payload) <= {"data", "pagination"}, f"{path}: not the data envelope: {payload}"
        return payload["data"]

    async def error(self, path: str, body: Any, headers: dict[str, str] | None, status: int) -> str:
        """The message of a ``{"error": …}`` answer with ``status``."""
        response = await self.post(path, body, headers)
        assert response.status_code == status, f"{path}: {response.status_code} {response.text}"
        assert isinstance(response.json()["error"], str)
        return response.json()["error"]


def has_keys(row: dict[str, Any], *keys: str) -> None:
    missing = [key for key in keys if key not in row]
    assert not missing, f"missing {missing} in {sorted(row)}"
