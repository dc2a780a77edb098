import time
from tests.operations.test_derive import run, PRICING

async def test_timing(client, tenant, sandbox):
    for latency in (0, 0.3, 0.6):
        sandbox.configure(latency_ms=latency * 1000)
        started = time.monotonic()
        result = await run(client, tenant, {**PRICING, "company_domain": f"a{latency}.io"})
        print(latency, time.monotonic() - started, [a["duration_ms"] for a in result["provider_attempts"]])
