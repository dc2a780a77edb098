"""Idempotency keys of batch submissions (the ``Idempotency-Key`` header).

A key names one request: sent again with the same body it answers with the submission it created; sent
with another body it is refused (422, naming the key), because answering with the first submission would
silently drop the second request's entities. A submission keeps the SHA-256 of the canonical form of
its body (keys sorted, the resolved client company in place of the one sent) next to its key. Keys expire
``DEX_IDEMPOTENCY_KEY_TTL_HOURS`` (default 24) after their submission was created: the next request with
an expired key takes the key over and creates a new submission.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dex.errors import Unprocessable
from dex.pipeline.schemas import BatchSubmitRequest

DEFAULT_TTL = timedelta(hours=24)

EXPIRE_KEY = text(
    "UPDATE submissions SET idempotency_key = NULL, idempotency_body_hash = NULL "
    "WHERE org_id = :org_id AND idempotency_key = :key AND created_at < now() - make_interval(secs => :ttl)"
)
FIND_KEY = text(
    "SELECT id, idempotency_body_hash FROM submissions WHERE org_id = :org_id AND idempotency_key = :key"
)


def body_hash(body: BatchSubmitRequest, company_id: uuid.UUID) -> str:
    canonical = {
        **body.model_dump(mode="json", exclude={"org_id", "company_id"}),
        "company_id": str(company_id),
    }
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


async def prior_submission(
    session: AsyncSession, org_id: uuid.UUID, key: str, fingerprint: str, ttl: timedelta
) -> uuid.UUID | None:
    """The submission ``key`` created, if it has not expired; raises :class:`Unprocessable` when that
    submission was made from another body."""
    params = {"org_id": org_id, "key": key}
    await session.execute(EXPIRE_KEY, {**params, "ttl": ttl.total_seconds()})
    found = (await session.execute(FIND_KEY, params)).first()
    if found is None:
        return None
    if found.idempotency_body_hash is not None and found.idempotency_body_hash != fingerprint:
        raise Unprocessable(
            f"Idempotency-Key {key!r} was already used with a different request body; "
            "send a new key for a different request"
        )
    return found.id
