import pytest
@pytest.fixture(autouse=True)
def dump_ledger(request):
    yield
    sandbox = request.node.funcargs.get("sandbox")
    if sandbox is None: return
    entries = sorted(sandbox.state.ledger, key=lambda e: e.at)
    t0 = entries[0].at if entries else 0
    print("\nLEDGER", [(e.provider[:2], round(e.at - t0, 3), e.status) for e in entries])
