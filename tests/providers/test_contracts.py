"""Every provider contract (contracts/providers/) against both sides of dex.

- The adapter: each documented answer is replayed over real HTTP and the real adapter (or key check) must
  come to the documented case and produce the documented canonical fields.
- The sandbox twin: it must accept the documented example request (and answer in a documented shape),
  refuse one missing a required parameter, or otherwise malformed, with the provider's documented error,
  and refuse a key sent in the wrong place with the provider's documented refusal.
"""

from __future__ import annotations

import importlib
import pkgutil
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from dex import providers as provider_package
from dex.providers.accounts import KeyCheck, check_key, probe_of
from dex.providers.base import AdapterResult, ProviderContext
from dex.providers.catalog import PROVIDERS
from dex.providers.http import ProviderClient, ProviderLimits
from dex.sandbox.credentials import SANDBOX_ACCOUNT_EMAIL, sandbox_credential
from dex.server import serve_in_background
from tests.conftest import SandboxHandle
from tests.providers.contracts import (
    AUTH_PLACES,
    CASE,
    REFUSALS,
    Contract,
    Replay,
    build_request,
    dig,
    load_contracts,
    misplaced,
    resolve,
    shape_mismatches,
)

CONTRACTS = load_contracts()
ANSWERS = [(contract, index) for contract in CONTRACTS for index in range(len(contract.answers))]
REPLAY_LIMITS = ProviderLimits(timeout_seconds=10, max_retries=0)
EXPECTED_STATUSES = {"found": {"found", "verified"}, "not_found": {"not_found"}}
TOP_KEYS = {"provider", "endpoint", "documentation", "method", "url", "auth", "request", "answers"}


def _answer_id(item: tuple[Contract, int]) -> str:
    contract, index = item
    return f"{contract.id}#{index}:{contract.answers[index]['case']}"


@pytest.fixture(scope="module")
async def replay() -> AsyncIterator[tuple[Replay, str]]:
    server = Replay()
    async with serve_in_background(server.app) as url:
        yield server, url


@pytest.fixture
async def provider_client() -> AsyncIterator[ProviderClient]:
    client = ProviderClient(dict.fromkeys(PROVIDERS, REPLAY_LIMITS), REPLAY_LIMITS)
    yield client
    await client.close()


def _credentials(provider: str) -> tuple[str, ...]:
    return tuple(
        "ops@example.com" if name.endswith("_email") else "contract-key"
        for name in PROVIDERS[provider].credential_settings
    )


def _adapter_functions() -> set[str]:
    """Every provider adapter (``@adapter`` functions carry their provider and action)."""
    found = set()
    for module_info in pkgutil.iter_modules(provider_package.__path__):
        module = importlib.import_module(f"dex.providers.{module_info.name}")
        for name, value in vars(module).items():
            if callable(value) and getattr(value, "provider", None) == module_info.name:
                found.add(f"dex.providers.{module_info.name}.{name}")
    return found


# --- the contracts themselves --------------------------------------------------------------------------


def test_there_are_contracts() -> None:
    assert CONTRACTS, "no contract under contracts/providers/"


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.id)
def test_contract_is_well_formed(contract: Contract) -> None:
    data = contract.data
    assert set(data) >= TOP_KEYS, f"missing keys: {TOP_KEYS - set(data)}"
    assert contract.path.stem == contract.endpoint and contract.path.parent.name == contract.provider
    assert {"url", "found", "notes"} <= set(data["documentation"]) and data["documentation"]["notes"].strip()
    assert data["auth"] is None or data["auth"]["in"] in AUTH_PLACES
    assert {"required", "optional", "example"} <= set(contract.request)
    assert set(contract.request["required"]) <= set(contract.request["example"]) | contract.path_parameters
    assert contract.answers and all(CASE.match(answer["case"]) for answer in contract.answers)
    assert all({"status", "body", "canonical"} <= set(answer) for answer in contract.answers)
    assert any(answer["case"] == "found" for answer in contract.answers)


def test_every_adapter_has_a_contract() -> None:
    covered = {contract.data["adapter"]["function"] for contract in CONTRACTS if "adapter" in contract.data}
    assert _adapter_functions() - covered == set()


@pytest.mark.parametrize("provider", sorted(p for p in PROVIDERS if probe_of(p)))
def test_every_key_check_calls_a_documented_endpoint(provider: str) -> None:
    probe = probe_of(provider)
    assert probe is not None
    own = [contract for contract in CONTRACTS if contract.provider == provider]
    assert any(contract.matches(probe.method, probe.path) for contract in own), (
        f"{probe.method} {probe.path} has no contract"
    )


# --- the adapter against each documented answer ----------------------------------------------------------


@pytest.mark.parametrize("item", [a for a in ANSWERS if "adapter" in a[0].data], ids=_answer_id)
async def test_adapter_reads_documented_answer(
    item: tuple[Contract, int], replay: tuple[Replay, str], provider_client: ProviderClient
) -> None:
    contract, index = item
    answer = contract.answers[index]
    server, url = replay
    server.script([c for c in CONTRACTS if c.provider == contract.provider], contract, answer)
    call = contract.data["adapter"]
    function = resolve(call["function"])
    outcome = await _run(function, call["inputs"], contract.provider, provider_client, url)
    if isinstance(outcome, KeyCheck):
        status, mapped = outcome.status, outcome.to_dict()
        expected = {"valid"} if answer["case"] == "found" else {"invalid_key", "error"}
    else:
        status, mapped = outcome.status, outcome.mapped
        expected = EXPECTED_STATUSES.get(answer["case"], {"failed"})
        assert outcome.attempt.http_status is not None, outcome.attempt
    assert status in expected, f"{answer['case']} came to {status}: {outcome}"
    for key, value in answer["canonical"].items():
        assert mapped is not None, f"no mapped output for {key}"
        assert dig(mapped, key) == value, f"{key}: {dig(mapped, key)!r} != {value!r}"


async def _run(
    function: Any, inputs: dict[str, Any], provider: str, client: ProviderClient, url: str
) -> AdapterResult | KeyCheck:
    if function is check_key:
        return await check_key(client, inputs["provider"], _credentials(provider), url)
    ctx = ProviderContext(
        org_id=uuid.uuid4(),
        client=client,
        credentials=_credentials,
        base_urls=lambda _: url,
    )
    result: AdapterResult = await function(ctx, **inputs)
    return result


# --- the sandbox twin against the documented requests ---------------------------------------------------


async def _send(
    sandbox: SandboxHandle, contract: Contract, example: dict[str, Any], **kwargs: Any
) -> httpx.Response:
    built = build_request(
        contract,
        sandbox.url,
        example,
        key=sandbox_credential(contract.provider),
        account_email=SANDBOX_ACCOUNT_EMAIL,
        **kwargs,
    )
    # The sandbox speaks plain HTTP: a verifying client would load the CA bundle (~27 ms) for nothing.
    async with httpx.AsyncClient(timeout=10, verify=False) as http:
        return await http.request(
            built.method, built.url, headers=built.headers, params=built.params, json=built.json_body
        )


def _body(response: httpx.Response) -> Any:
    """The JSON answer, or the text of a document (an SEC filing is HTML)."""
    if not response.content:
        return None
    return response.json() if "json" in response.headers.get("content-type", "") else response.text


def _assert_answer(response: httpx.Response, documented: list[dict[str, Any]], what: str) -> None:
    same_status = [answer for answer in documented if answer["status"] == response.status_code]
    assert same_status, (
        f"{what}: the twin answered {response.status_code} {response.text[:300]}, documented: "
        f"{sorted({answer['status'] for answer in documented})}"
    )
    problems = [shape_mismatches(answer["body"], _body(response)) for answer in same_status]
    assert any(not found for found in problems), f"{what}: {problems[0]} in {response.text[:300]}"


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.id)
async def test_twin_accepts_documented_request(contract: Contract, sandbox: SandboxHandle) -> None:
    response = await _send(sandbox, contract, contract.request["example"])
    accepted = [answer for answer in contract.answers if answer["case"] not in REFUSALS]
    _assert_answer(response, accepted, "the documented example")


REQUIRED = [
    (contract, name)
    for contract in CONTRACTS
    for name in contract.request["required"]
    if name not in contract.path_parameters
]


@pytest.mark.parametrize("item", REQUIRED, ids=lambda item: f"{item[0].id}-without-{item[1]}")
async def test_twin_refuses_missing_required_parameter(
    item: tuple[Contract, str], sandbox: SandboxHandle
) -> None:
    contract, name = item
    refusal = contract.answer("error_invalid_request")
    assert refusal is not None, "the contract documents no answer to an invalid request"
    example = {key: value for key, value in contract.request["example"].items() if key != name}
    _assert_answer(await _send(sandbox, contract, example), [refusal], f"without {name}")


@pytest.mark.parametrize(
    "contract", [c for c in CONTRACTS if "invalid_example" in c.request], ids=lambda c: c.id
)
async def test_twin_refuses_malformed_request(contract: Contract, sandbox: SandboxHandle) -> None:
    refusal = contract.answer("error_invalid_request")
    assert refusal is not None, "the contract documents no answer to an invalid request"
    response = await _send(sandbox, contract, contract.request["invalid_example"])
    _assert_answer(response, [refusal], "the malformed example")


@pytest.mark.parametrize("contract", [c for c in CONTRACTS if c.auth], ids=lambda c: c.id)
async def test_twin_refuses_key_in_wrong_place(contract: Contract, sandbox: SandboxHandle) -> None:
    refusal = contract.answer("error_unauthorized")
    assert refusal is not None, "the contract documents no answer to a refused key"
    assert contract.auth is not None
    response = await _send(
        sandbox, contract, contract.request["example"], key_place=misplaced(contract.auth["in"])
    )
    _assert_answer(response, [refusal], "the key in the wrong place")
