"""dex — Data Engine X: a self-hostable, multi-tenant entity intelligence engine."""

__version__ = "0.1.0"
