"""Login throttling: failed logins are counted per account and per client address in PostgreSQL, so every
API process sees the same counts. Past ``LOGIN_MAX_FAILURES`` failures of an account (or
``LOGIN_MAX_FAILURES_PER_ADDRESS`` from one address), logins are refused with 429 and ``Retry-After`` for
a lockout that doubles with each further failure, up to ``LOGIN_LOCKOUT_MAX_SECONDS``. While locked, no
password is checked, so guessing stops. The account key is the email as typed: an email with no account is
counted and locked like any other, so the answers never reveal whether an account exists. A successful
login clears its account's count (not its address's: one's own valid account must not let an address
keep guessing at others).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from dex.config import Settings
from dex.errors import TooManyRequests
from dex.observability import LOGIN_LOCKOUTS
from dex.tenancy.repository import LoginFailureRepository

log = logging.getLogger(__name__)

LoginKind = Literal["tenant", "super_admin"]
LOCKED_MESSAGE = "Too many failed logins, try again later"
PRUNE_BATCH = 100


def lockout_seconds(failures: int, threshold: int, settings: Settings) -> float:
    """How long a subject with ``failures`` failures is locked out (0 below ``threshold``)."""
    if failures < threshold:
        return 0.0
    doublings = min(failures - threshold, 40)  # far past any cap; keeps the power finite
    return min(settings.login_lockout_base_seconds * 2.0**doublings, settings.login_lockout_max_seconds)


def _refusal(locked_until: datetime) -> TooManyRequests:
    remaining = (locked_until - datetime.now(UTC)).total_seconds()
    return TooManyRequests(LOCKED_MESSAGE, retry_after_seconds=max(1, math.ceil(remaining)))


@dataclass(frozen=True)
class LoginThrottle:
    settings: Settings
    kind: LoginKind

    def _subjects(self, email: str, address: str | None) -> list[tuple[str, str, int]]:
        """(subject, key, threshold) of each count one login attempt adds to."""
        subjects = [("account", f"{self.kind}:{email.strip().lower()}", self.settings.login_max_failures)]
        if address:
            subjects.append(("address", address, self.settings.login_max_failures_per_address))
        return subjects

    async def check(self, session: AsyncSession, email: str, address: str | None) -> None:
        """429 while the account or the address is locked out."""
        keys = [(subject, key) for subject, key, _ in self._subjects(email, address)]
        locked_until = await LoginFailureRepository(session).locked_until(keys)
        if locked_until is not None:
            raise _refusal(locked_until)

    async def record_failure(
        self, session: AsyncSession, email: str, address: str | None
    ) -> TooManyRequests | None:
        """Count a failed login; the refusal to answer with when this failure starts a lockout."""
        repository = LoginFailureRepository(session)
        window = timedelta(seconds=self.settings.login_failure_window_seconds)
        # Each failure adds at most two counts and removes up to PRUNE_BATCH that have run out.
        await repository.prune(window=window, limit=PRUNE_BATCH)
        latest: datetime | None = None
        for subject, key, threshold in self._subjects(email, address):
            failures = await repository.add_failure(subject, key, window=window)
            seconds = lockout_seconds(failures, threshold, self.settings)
            if seconds == 0:
                continue
            locked_until = await repository.lock(subject, key, seconds=seconds)
            latest = locked_until if latest is None else max(latest, locked_until)
            LOGIN_LOCKOUTS.labels(self.kind, subject).inc()
            # The key is an email or an address, never what was typed as the password.
            log.warning(
                "login lockout: %s login, %s %s locked for %.0f s after %d failures",
                self.kind,
                subject,
                key,
                seconds,
                failures,
            )
        return None if latest is None else _refusal(latest)

    async def record_success(self, session: AsyncSession, email: str) -> None:
        await LoginFailureRepository(session).clear("account", f"{self.kind}:{email.strip().lower()}")
