"""The session ``dex login`` keeps for later commands: one JSON file in the user's configuration directory
(``$XDG_CONFIG_HOME/dex/credentials.json``, by default ``~/.config/dex/credentials.json``), readable and
writable by its owner only, since the token in it acts as the user."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from dex.errors import DexError

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


@dataclass(frozen=True)
class StoredLogin:
    api_url: str
    token: str
    email: str


def credentials_path() -> Path:
    # The XDG specification tells programs to ignore a relative XDG_CONFIG_HOME.
    configured = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(configured) if configured and Path(configured).is_absolute() else Path.home() / ".config"
    return base / "dex" / "credentials.json"


def load_login() -> StoredLogin | None:
    """The saved login, or None when nobody has logged in."""
    path = credentials_path()
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        return StoredLogin(api_url=saved["api_url"], token=saved["token"], email=saved["email"])
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DexError(f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, TypeError, KeyError):
        raise DexError(f"{path} is damaged: run `dex login` again, or `dex logout` to remove it") from None


def save_login(login: StoredLogin) -> Path:
    """Write the login where later commands find it; the file is never readable by anyone else, not even
    for a moment (it is created with its final mode, then moved into place)."""
    path = credentials_path()
    try:
        path.parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        staged = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        os.fchmod(descriptor, FILE_MODE)  # a leftover staged file may have had another mode
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(asdict(login), file, indent=2)
        os.replace(staged, path)
    except OSError as exc:
        raise DexError(f"cannot write {path}: {exc.strerror}") from None
    return path


def remove_login() -> bool:
    """Forget the saved login (a damaged file too); False when there was none."""
    path = credentials_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise DexError(f"cannot remove {path}: {exc.strerror}") from None
    return True
