"""The suite drives every endpoint of the original system: each test names the endpoints it calls (and
checks it called them all), and together they name all 71."""

from __future__ import annotations

from tests.compat import test_admin_and_auth, test_internal_runner, test_tenant_and_v1
from tests.compat.reference import REFERENCE_ENDPOINTS


def test_the_suite_covers_all_71_endpoints() -> None:
    assert len(REFERENCE_ENDPOINTS) == 71
    covered = test_admin_and_auth.ENDPOINTS | test_tenant_and_v1.ENDPOINTS | test_internal_runner.ENDPOINTS
    assert covered == REFERENCE_ENDPOINTS
