from __future__ import annotations

from functools import partial

import httpx
import pytest

from tests.conftest import SandboxHandle, Tenant
from tests.operations.helpers import MissingInputsCheck, assert_missing_inputs_make_no_call


@pytest.fixture
def missing_inputs_make_no_call(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> MissingInputsCheck:
    """``assert_missing_inputs_make_no_call`` bound to this test's client, tenant and sandbox."""
    return partial(assert_missing_inputs_make_no_call, client, tenant, sandbox)
