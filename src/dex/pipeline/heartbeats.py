"""Executor heartbeats: how a dead executor process is told from a live one on any machine.

Every executor process — the embedded executor, each scale-out worker — renews its row in
``executor_heartbeats`` several times per timeout. A process is *silent* when its row expired while
another process kept beating for a whole timeout: it stopped (killed, frozen, cut off) while the
database was there to hear it. Whoever sees that first takes the row out, and in the same transaction
the steps that process leased go back to the queue. So a dead worker's steps wait for its heartbeat to
stop, not for their leases (which stay long, so that a slow step never needs its lease renewed in a
hurry) to run out — and an outage of the database itself, which stops every heartbeat at once, is no
one's death: each process's run of beats starts again when it is back (``beating_since``), and nobody is
judged until some process has beaten a whole timeout since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# How many beats fit in one timeout: a process is taken for gone only after missing several in a row.
BEATS_PER_TIMEOUT = 5

BEAT = text(
    "INSERT INTO executor_heartbeats AS h (worker, beat_at, expires_at, beating_since) "
    "VALUES (:worker, now(), now() + make_interval(secs => :timeout), now()) "
    "ON CONFLICT (worker) DO UPDATE SET beat_at = EXCLUDED.beat_at, expires_at = EXCLUDED.expires_at, "
    "beating_since = CASE WHEN h.expires_at < now() THEN now() ELSE h.beating_since END"
)
ANY_EXPIRED = text("SELECT EXISTS (SELECT 1 FROM executor_heartbeats WHERE expires_at < now())")
# A row expired, and another process has beaten without a gap for at least that row's timeout: the
# database heard the others all along, so this one stopped. DELETE … RETURNING: of several processes
# noticing the same silence, one takes it over.
TAKE_SILENT = text(
    "DELETE FROM executor_heartbeats x WHERE x.expires_at < now() AND EXISTS ("
    "SELECT 1 FROM executor_heartbeats y WHERE y.expires_at >= now() "
    "AND y.beating_since <= now() - (x.expires_at - x.beat_at)) RETURNING worker, beat_at"
)
FORGET = text("DELETE FROM executor_heartbeats WHERE worker = :worker")


@dataclass(frozen=True)
class Silent:
    worker: str
    last_beat: datetime


def beat_interval(timeout_seconds: float) -> float:
    return timeout_seconds / BEATS_PER_TIMEOUT


async def beat(session: AsyncSession, *, worker: str, timeout_seconds: float) -> bool:
    """Renew ``worker``'s heartbeat; returns whether some process's heartbeat expired (it may be silent)."""
    await session.execute(BEAT, {"worker": worker, "timeout": timeout_seconds})
    return bool(await session.scalar(ANY_EXPIRED))


async def take_silent(session: AsyncSession) -> list[Silent]:
    """The processes whose heartbeat stopped, each returned to one caller only."""
    rows = await session.execute(TAKE_SILENT)
    return [Silent(row.worker, row.beat_at) for row in rows]


async def forget(session: AsyncSession, worker: str) -> None:
    """A process that stops cleanly leaves no silence behind."""
    await session.execute(FORGET, {"worker": worker})
