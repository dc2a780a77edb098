"""Server time of the console's heaviest pages, and what a live page costs the database.

``python -m dex.bench.console`` seeds a fresh database (one submission of 100,000 runs, 30 small ones, a
company entity with several versions), serves dex on a local port with its executor off, signs in, and
prints for each page the median and 95th percentile of the time from request to the last byte of the
answer, over ``--repeats`` requests. Then it follows the live progress of the large batch, and of the
batch list, for ``--live-seconds`` while progress notifications arrive 200 times a second, and prints how
many queries each stream sent to the database per second. Nothing is asserted: these are figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, text

from dex.api.app import create_app
from dex.blueprints import service as blueprints
from dex.blueprints.schemas import BlueprintCreate, BlueprintStepIn
from dex.config import Settings
from dex.db.engine import Database
from dex.entities.repository import EntityRepository, Lineage
from dex.pipeline import service as pipeline
from dex.pipeline.live import PROGRESS_CHANNEL
from dex.pipeline.progress import PlanCache
from dex.pipeline.schemas import BatchSubmitRequest, EntityIn
from dex.server import serve_in_background
from dex.tenancy import service as tenancy
from dex.tenancy.auth import API_KEY_SUPER_ADMIN
from dex.tenancy.context import AuthContext
from dex.testing import create_test_database, drop_test_database

EMAIL = "bench@console.test"
PASSWORD = "bench-console-password"
NOTIFY_PER_SECOND = 200


async def _seed(database: Database, runs: int) -> dict[str, Any]:
    async with database.transaction() as session:
        org, company = await tenancy.ensure_org_and_company(
            session, API_KEY_SUPER_ADMIN, org_name="Bench", org_slug="bench", company_name="Bench client"
        )
        user = await tenancy.create_user(
            session, API_KEY_SUPER_ADMIN, org_id=org.id, email=EMAIL, password=PASSWORD, role="org_admin"
        )
        scope = AuthContext(org.id, user.id, None, "org_admin", "jwt")
        blueprint = await blueprints.create(
            session,
            scope,
            BlueprintCreate(
                name="profiles", steps=[BlueprintStepIn(position=1, operation_id="company.enrich.profile")]
            ),
        )
    plans = PlanCache()
    submissions = []
    for size in [runs] + [10] * 30:
        entities = [
            EntityIn(entity_type="company", input={"domain": f"c{i}-{size}.example"}) for i in range(size)
        ]
        async with database.transaction() as session:
            body = BatchSubmitRequest(blueprint_id=blueprint.id, company_id=company.id, entities=entities)
            submitted = await pipeline.submit(session, scope, body, plans=plans)
        submissions.append(submitted.submission_id)
    entity_id = None
    for version in range(5):
        async with database.transaction() as session:
            result = await EntityRepository(session, org.id).upsert(
                "company",
                {
                    "domain": "acme.example",
                    "company_name": "Acme",
                    "employee_count": 100 + version,
                    "industry": "Software",
                    "description": "A company with a history of versions.",
                },
                Lineage("company.enrich.profile", None, company.id),
            )
        assert result is not None
        entity_id = result.entity_id
    return {"large": submissions[0], "small": submissions[1:], "entity": entity_id}


async def _timed(client: httpx.AsyncClient, path: str, repeats: int) -> dict[str, float]:
    times = []
    for attempt in range(repeats + 2):
        started = time.perf_counter()
        response = await client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
        if attempt >= 2:  # the first two warm caches and connections
            times.append(elapsed)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, round(0.95 * len(times)) - 1)], 1),
    }


async def _notify(database: Database, submission_ids: list[uuid.UUID], seconds: float) -> None:
    """Progress notifications as a busy executor would send them (one run moving each time)."""
    deadline = time.monotonic() + seconds
    async with database.engine.connect() as connection:
        while time.monotonic() < deadline:
            for submission_id in submission_ids:
                message = json.dumps(
                    {
                        "s": str(submission_id),
                        "status": None,
                        "runs": [[str(uuid.uuid4()), "running"]],
                        "steps": [],
                    }
                )
                await connection.execute(
                    text("SELECT pg_notify(:channel, :message)"),
                    {"channel": PROGRESS_CHANNEL, "message": message},
                )
            await connection.commit()
            await asyncio.sleep(1 / NOTIFY_PER_SECOND)


async def _queries_per_second(
    client: httpx.AsyncClient,
    app_database: Database,
    notifier: Database,
    path: str,
    ids: list[uuid.UUID],
    seconds: float,
) -> float:
    """Queries the app sends while the stream is open, counted from its first event (the request's own
    sign-in and access checks come before)."""
    count = 0
    first_event: tuple[int, float] | None = None

    def counted(*_: Any) -> None:
        nonlocal count
        count += 1

    event.listen(app_database.engine.sync_engine, "before_cursor_execute", counted)
    notifying = asyncio.create_task(_notify(notifier, ids, seconds + 2))
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds), client.stream("GET", path, timeout=seconds + 5) as response:
                async for _ in response.aiter_bytes():
                    if first_event is None:
                        first_event = (count, time.monotonic())
    finally:
        event.remove(app_database.engine.sync_engine, "before_cursor_execute", counted)
        notifying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await notifying
    if first_event is None:
        raise SystemExit(f"{path}: the stream sent nothing")
    return round((count - first_event[0]) / (time.monotonic() - first_event[1]), 2)


async def run(runs: int, repeats: int, live_seconds: float, state_dir: Path) -> None:
    name = f"dex_bench_console_{os.getpid()}"
    url = await asyncio.to_thread(create_test_database, state_dir, name)
    database = Database(url, pool_size=10)
    notifier = Database(url, pool_size=1)
    try:
        print(f"seeding: one submission of {runs} runs, 30 of 10, an entity with 5 versions …", flush=True)
        seeded = await _seed(database, runs)
        settings = Settings(
            _env_file=None,
            database_url=url,
            jwt_secret=os.urandom(24).hex(),
            super_admin_jwt_secret=os.urandom(24).hex(),
            dex_executor="none",
        )
        app = create_app(settings, database=database, providers=None, run_executor=False)
        async with (
            serve_in_background(app) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=60) as client,
        ):
            login = await client.get("/console/login")
            token = login.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
            await client.post(
                "/console/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token}
            )
            pages = {
                "batch list": "/console/batches",
                f"batch detail, {runs} runs (first page of the tree)": f"/console/batches/{seeded['large']}",
                "entity page (5 versions, diff, timeline)": f"/console/entities/company/{seeded['entity']}",
            }
            print(f"\nserver time per page over {repeats} requests:")
            for label, path in pages.items():
                figures = await _timed(client, path, repeats)
                print(f"  {label:<55} median {figures['median_ms']:>7} ms   p95 {figures['p95_ms']:>7} ms")
            print(f"\nqueries/s of a live page ({NOTIFY_PER_SECOND} notifications/s, {live_seconds:g} s):")
            detail = await _queries_per_second(
                client,
                database,
                notifier,
                f"/console/batches/{seeded['large']}/live",
                [seeded["large"]],
                live_seconds,
            )
            print(f"  batch detail live stream: {detail} queries/s")
            ids = ",".join(str(i) for i in seeded["small"])
            listing = await _queries_per_second(
                client, database, notifier, f"/console/batches/live?ids={ids}", seeded["small"], live_seconds
            )
            print(f"  batch list live stream (30 batches): {listing} queries/s")
    finally:
        await notifier.dispose()
        await database.dispose()
        await asyncio.to_thread(drop_test_database, state_dir, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100_000, help="runs of the large submission")
    parser.add_argument("--repeats", type=int, default=20, help="requests per page")
    parser.add_argument(
        "--live-seconds", type=float, default=10.0, help="how long each live stream is followed"
    )
    parser.add_argument(
        "--state-dir", type=Path, default=Path(".dex/bench"), help="embedded PostgreSQL's home"
    )
    arguments = parser.parse_args()
    asyncio.run(run(arguments.runs, arguments.repeats, arguments.live_seconds, arguments.state_dir))


if __name__ == "__main__":
    main()
