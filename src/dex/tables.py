"""Imports every domain's tables so ``Base.metadata`` is complete (Alembic, schema checks)."""

from dex.audit import models as audit
from dex.blueprints import models as blueprints
from dex.db.base import Base
from dex.entities import models as entities
from dex.operations import models as operations
from dex.pipeline import models as pipeline
from dex.providers import models as providers
from dex.tenancy import models as tenancy
from dex.usage import models as usage
from dex.webhooks import models as webhooks

__all__ = [
    "Base",
    "audit",
    "blueprints",
    "entities",
    "operations",
    "pipeline",
    "providers",
    "tenancy",
    "usage",
    "webhooks",
]
