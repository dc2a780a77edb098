"""The sandbox's credential convention: the one key (and account email) each emulated provider accepts.

It belongs to the sandbox; live code never imports it. The composition root hands it to the provider
runtime when it points providers at a sandbox."""

SANDBOX_ACCOUNT_EMAIL = "sandbox@dex.invalid"


def sandbox_credential(provider: str) -> str:
    """The key the sandbox accepts for ``provider`` (any other key is rejected like a real provider would)."""
    return f"sandbox-{provider}-key"
