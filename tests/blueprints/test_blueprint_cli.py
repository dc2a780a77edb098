"""`dex blueprint create | list | show` in local mode on the test database (against a
running API they are exercised by tests/tenancy/test_login_cli.py and tests/test_readme.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from dex.blueprints.examples import EXAMPLES, example_blueprint
from dex.config import Settings
from dex.db.engine import Database
from tests.conftest import SandboxHandle
from tests.dex_command import dex_env, run_dex

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def test_create_list_and_show_round_trip(
    tmp_path: Path, database: Database, database_url: str, settings: Settings, sandbox: SandboxHandle
) -> None:
    env = dex_env(settings, database_url, sandbox.url)
    example = str(EXAMPLES / "people_at_companies.json")

    created = await run_dex("blueprint", "create", example, "--name", "mine", env=env)
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("created blueprint mine (")
    assert "company.enrich.tech_stack → person.search → person.contact.resolve_email" in created.stdout

    shown = await run_dex("blueprint", "show", "mine", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    definition = json.loads(shown.stdout)
    expected = example_blueprint().model_dump(mode="json", exclude_none=True)
    assert {**definition, "name": expected["name"]} == expected
    copy = tmp_path / "copy.json"
    copy.write_text(json.dumps({**definition, "name": "copy"}))
    assert (await run_dex("blueprint", "create", str(copy), env=env)).returncode == 0

    listed = await run_dex("blueprint", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert [row[0] for row in rows if len(row) > 1 and UUID.fullmatch(row[1])] == ["copy", "mine"]
    table = await run_dex("blueprint", "show", "copy", env=env)
    assert "person.search" in table.stdout and '{"max_results": 3}' in table.stdout

    twice = await run_dex("blueprint", "create", str(copy), env=env)
    assert (twice.returncode, twice.stderr.strip()) == (
        1,
        "dex: /api/super-admin/blueprints/create: A blueprint with this name already exists in the org",
    )


async def test_bad_files_and_unknown_names_are_one_line_errors(
    tmp_path: Path, database: Database, database_url: str, settings: Settings, sandbox: SandboxHandle
) -> None:
    env = dex_env(settings, database_url, sandbox.url)
    not_json = tmp_path / "notes.json"
    not_json.write_text("name: mine")
    a_list = tmp_path / "list.json"
    a_list.write_text("[]")
    cases = {
        str(not_json): f"dex: {not_json} is not JSON: Expecting value: line 1 column 1 (char 0)",
        str(a_list): f"dex: {a_list} must hold a JSON object (name, entity_type, steps), not a list",
    }
    for path, error in cases.items():
        result = await run_dex("blueprint", "create", path, env=env)
        assert (result.returncode, result.stderr.strip()) == (1, error)
    unknown = await run_dex("blueprint", "show", "nope", env=env)
    assert (unknown.returncode, unknown.stderr.strip()) == (
        1,
        "dex: no blueprint named 'nope' (`dex blueprint list` shows them)",
    )
