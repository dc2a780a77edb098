from __future__ import annotations

import json
from pathlib import Path

import pytest

from dex.config import Settings
from dex.errors import ConfigurationError


def test_embedded_mode_generates_and_persists_missing_secrets(tmp_path: Path) -> None:
    first = Settings(_env_file=None, dex_home=tmp_path)
    first.ensure_secrets()
    assert first.jwt_secret and first.super_admin_jwt_secret and first.super_admin_api_key
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert stored["JWT_SECRET"] == first.jwt_secret
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600

    second = Settings(_env_file=None, dex_home=tmp_path)
    second.ensure_secrets()
    assert (second.jwt_secret, second.super_admin_api_key) == (first.jwt_secret, first.super_admin_api_key)


def test_environment_secret_wins_over_generated_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", "from-the-environment")
    settings = Settings(_env_file=None, dex_home=tmp_path)
    settings.ensure_secrets()
    assert settings.jwt_secret == "from-the-environment"


def test_server_mode_names_the_missing_secret(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, dex_home=tmp_path, database_url="postgresql://x@localhost/db")
    with pytest.raises(ConfigurationError, match="JWT_SECRET is not set"):
        settings.ensure_secrets()
    assert not (tmp_path / "secrets.json").exists()


def test_blank_internal_key_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERNAL_API_KEY", "   ")
    assert Settings(_env_file=None).internal_api_key is None
