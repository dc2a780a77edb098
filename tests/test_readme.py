"""The README's "Quick start" and "Running dex" commands, run as written and in order, the way a new user
runs them: in a directory laid out like a fresh clone, with an empty home directory (so a fresh embedded
PostgreSQL, no saved login) and no dex setting in the environment. If the README drifts from what works,
this fails.

What cannot run exactly as written is handled here, each case listed in ``SPECIAL``:
- ``make test`` is the suite running this test: not run again;
- ``make demo`` runs without rebuilding .venv (``-o .venv/.installed``): the .venv is the one running the
  tests (the clone's ``.venv`` links to it); it serves the console after its batch until Ctrl-C, which is
  sent once it says so;
- ``dex serve`` and ``dex sandbox`` run until stopped: each starts in the background on a free port (instead
  of 8000 and 8900; every ``http://127.0.0.1:8000`` in the commands follows) and is stopped where the README
  says so (the server before ``dex db stop``, the sandbox once it answers);
- ``dex bench`` and ``dex chaos`` are long benchmarks with their own tests: not run;
- ``dex login`` asks for the password: it is typed in (the one the bootstrap command sets);
- ``SUBMISSION_ID`` is the id ``dex submit`` printed."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("Quick start", "Running dex")
README_API_URL = "http://127.0.0.1:8000"
SUBMITTED = re.compile(r"submitted \d+ entities as (?P<id>[0-9a-f-]{36})")
# A bound against a hung command, not a speed target: a loaded machine may be slow.
COMMAND_TIMEOUT = 300


def readme_commands() -> list[str]:
    """The shell lines of the fenced blocks of the README's sections named in SECTIONS, in order."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    commands: list[str] = []
    for title in SECTIONS:
        match = re.search(
            rf"^## {re.escape(title)}\n(?P<body>.*?)(?=^## |\Z)", readme, re.MULTILINE | re.DOTALL
        )
        assert match is not None, f"the README has no section {title!r}"
        for block in re.findall(r"^```(?:bash|sh)\n(.*?)^```", match["body"], re.MULTILINE | re.DOTALL):
            for line in block.replace("\\\n", " ").splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    commands.append(line.strip())
    return commands


def argv_of(command: str) -> list[str]:
    return shlex.split(command, comments=True)


def dex_subcommand(command: str) -> list[str]:
    """``dex serve --x`` → ``["serve", "--x"]``; [] when the line does not run dex."""
    argv = argv_of(command)
    return argv[1:] if argv and Path(argv[0]).name == "dex" else []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_clone(root: Path) -> Path:
    """A directory laid out like a clone of the repository (its entries link to this one's) whose .venv is
    the environment running the tests; files the commands write land in it, not in the repository."""
    clone = root / "clone"
    clone.mkdir()
    for entry in REPO_ROOT.iterdir():
        if entry.name not in (".git", ".venv", ".dex", "companies.csv", "my-blueprint.json"):
            (clone / entry.name).symlink_to(entry)
    (clone / ".venv").symlink_to(Path(sys.prefix))
    return clone


@dataclass
class Session:
    """The new user's shell: an empty home, the clone as working directory, and what happened so far."""

    clone: Path
    home: Path
    api_url: str
    env: dict[str, str]
    handled: set[str] = field(default_factory=set)
    submission_id: str | None = None
    password: str | None = None
    server: subprocess.Popen[str] | None = None

    def run(self, command: str, *, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        line = command.replace(README_API_URL, self.api_url)
        if "SUBMISSION_ID" in line:
            assert self.submission_id, "`dex status SUBMISSION_ID` comes after a `dex submit`"
            line = line.replace("SUBMISSION_ID", self.submission_id)
        result = subprocess.run(
            ["bash", "-c", line],
            cwd=self.clone,
            env=self.env,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        assert result.returncode == 0, f"`{command}` failed:\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def run_until_interrupted(self, command: str, ready: str) -> str:
        """A command that runs until Ctrl-C: its output up to ``ready``, then Ctrl-C to its process group,
        as a terminal sends it."""
        lines: list[str] = []
        with subprocess.Popen(
            ["bash", "-c", command],
            cwd=self.clone,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        ) as process:
            assert process.stdout is not None
            reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True)
            reader.start()
            deadline = time.monotonic() + COMMAND_TIMEOUT
            while ready not in "".join(lines):
                assert process.poll() is None, f"`{command}` ended early:\n{''.join(lines)}"
                assert time.monotonic() < deadline, f"`{command}` never said {ready!r}:\n{''.join(lines)}"
                time.sleep(0.2)
            os.killpg(process.pid, signal.SIGINT)
            process.wait(timeout=60)
            reader.join(timeout=10)
        # Every process of the group is gone (the ports it held are free) before the next command runs.
        deadline = time.monotonic() + 60
        while process_group_alive(process.pid):
            assert time.monotonic() < deadline, f"`{command}` left processes behind after Ctrl-C"
            time.sleep(0.1)
        return "".join(lines)

    def start_server(self, command: str) -> None:
        port = self.api_url.rsplit(":", 1)[1]
        self.server = subprocess.Popen(
            [*argv_of(command), "--port", port],
            cwd=self.clone,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_until_answering(f"{self.api_url}/openapi.json", self.server)

    def stop_server(self) -> None:
        if self.server is not None:
            stop(self.server)
            self.server = None


def wait_until_answering(url: str, process: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"{process.args} exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def process_group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def stop(process: subprocess.Popen[str]) -> None:
    """Ctrl-C, as the user would; killed if it does not stop."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def saved_login(home: Path) -> Path:
    return home / ".config" / "dex" / "credentials.json"


def check_quick_start(session: Session, command: str, argv: list[str]) -> bool:
    """Runs the quick start's `make` commands as this module's docstring says; True when handled."""
    if argv[:1] != ["make"]:
        return False
    if argv[1:] == ["test"]:
        session.handled.add("make test")
        return True
    assert argv[1:] == ["demo"], f"the test does not know how to run `{command}`"
    output = session.run_until_interrupted(
        command.replace("make demo", "make -o .venv/.installed demo", 1), "Serving until Ctrl-C"
    )
    assert "Enriched people" in output and ": completed —" in output, output
    session.handled.add("make demo")
    return True


def run_dex_command(session: Session, command: str, subcommand: list[str]) -> None:
    """One `dex …` line of the README, with the checks that prove it did what the README says."""
    verb = subcommand[:1]
    if verb == ["serve"]:
        session.start_server(command)
        session.handled.add("dex serve")
        return
    if verb == ["sandbox"]:
        port = str(free_port())
        argv = [*argv_of(command), "--port", port]  # the last --port wins
        sandbox = subprocess.Popen(
            argv,
            cwd=session.clone,
            env=session.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_until_answering(f"http://127.0.0.1:{port}/_sandbox/config", sandbox)
        finally:
            stop(sandbox)
        session.handled.add("dex sandbox")
        return
    if verb in (["bench"], ["chaos"]):
        session.handled.add(f"dex {verb[0]}")
        return
    if subcommand[:2] == ["db", "stop"]:
        session.stop_server()  # "Then stop `dex serve` (Ctrl-C)": before its database goes away
    if verb == ["login"]:
        assert session.password, "`dex login` comes after the bootstrap that sets the password"
        session.run(command, stdin=f"{session.password}\n")
        login = saved_login(session.home)
        assert stat.S_IMODE(login.stat().st_mode) == 0o600
        assert json.loads(login.read_text())["api_url"] == session.api_url
        session.handled.add("dex login")
        return

    result = session.run(command)
    if subcommand[:2] == ["admin", "bootstrap"]:
        argv = argv_of(command)
        session.password = argv[argv.index("--password") + 1]
        assert "created blueprint people-at-companies" in result.stdout, result.stdout
        assert re.search(r"^org .+: [0-9a-f-]{36}$", result.stdout, re.MULTILINE), result.stdout
        assert re.search(r"^company .+: [0-9a-f-]{36}$", result.stdout, re.MULTILINE), result.stdout
        assert re.search(r"^export DEX_API_TOKEN=dex_\S+$", result.stdout, re.MULTILINE), result.stdout
    elif verb == ["submit"] and "--estimate" in subcommand:
        assert "Estimated credits" in result.stdout and not SUBMITTED.search(result.stdout), result.stdout
    elif verb == ["submit"]:
        submitted = SUBMITTED.search(result.stdout)
        assert submitted is not None and ": completed —" in result.stdout, result.stdout
        session.submission_id = submitted["id"]
        check_submitted_to_the_server(session)
    elif verb == ["logout"]:
        assert not saved_login(session.home).exists()


def check_submitted_to_the_server(session: Session) -> None:
    """The batch went to the running server, in the bootstrapped org (not to an in-process dex): the saved
    session sees it there."""
    token = json.loads(saved_login(session.home).read_text())["token"]
    response = httpx.post(
        f"{session.api_url}/api/v1/batch/status",
        json={"submission_id": session.submission_id},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text


@contextmanager
def new_user(tmp_path: Path) -> Iterator[Session]:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "COLUMNS": "200",  # tables as wide as their ids
    }
    session = Session(fresh_clone(tmp_path), home, f"http://127.0.0.1:{free_port()}", env)
    try:
        yield session
    finally:
        session.stop_server()
        # The embedded PostgreSQL outlives dex processes: stopped even when the README's `db stop` was not
        # reached.
        subprocess.run(
            [sys.executable, "-m", "dex.cli", "db", "stop"], env=env, capture_output=True, timeout=60
        )


SPECIAL = {"make demo", "make test", "dex serve", "dex sandbox", "dex bench", "dex chaos", "dex login"}


def test_the_readme_runs_as_written(tmp_path: Path) -> None:
    commands = readme_commands()
    with new_user(tmp_path) as session:
        for command in commands:
            if check_quick_start(session, command, argv_of(command)):
                continue
            subcommand = dex_subcommand(command)
            assert subcommand, f"the test does not know how to run `{command}`"
            run_dex_command(session, command, subcommand)
        # Every case handled apart is still in the README (else this test checks less than it says).
        assert session.handled == SPECIAL
        assert (session.clone / "companies.csv").read_text().count("\n") > 1
