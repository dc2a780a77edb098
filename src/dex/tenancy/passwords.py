"""Password hashing with argon2id. Hashing is deliberately slow (~0.1 s of CPU), so it runs on a worker
thread instead of stalling the event loop."""

from __future__ import annotations

import asyncio
from functools import cache

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


@cache
def _decoy_hash() -> str:
    return _hasher.hash("dex-decoy-password")


def _verify(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        # Verify against a decoy so an unknown account costs as much time as a wrong password.
        _hasher.verify(password, _decoy_hash())
        return False
    try:
        return _hasher.verify(password, password_hash)
    except UnknownHashError:
        return False


async def verify_password(password: str, password_hash: str | None) -> bool:
    """True when ``password`` matches; a missing hash (unknown account, no password set) never matches."""
    return await asyncio.to_thread(_verify, password, password_hash)
