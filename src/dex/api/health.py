from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from dex import __version__
from dex.errors import DatabaseUnavailable
from dex.kit.deps import DatabaseDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str
    database: dict[str, str]


@router.get("/health", response_model=Health)
async def health(db: DatabaseDep) -> Health:
    """Unauthenticated liveness + database check."""
    try:
        async with db.engine.connect() as conn:
            version = (await conn.execute(text("SHOW server_version"))).scalar_one()
    except Exception as exc:
        raise DatabaseUnavailable(f"database unavailable: {type(exc).__name__}") from exc
    return Health(status="healthy", version=__version__, database={"version": version})
