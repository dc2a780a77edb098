"""API models of the cost ledger and budgets."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from dex.kit.envelopes import PageRequest, Pagination

GroupName = Literal["org", "company", "submission", "run", "operation", "provider", "day"]


class UsageRequest(PageRequest):
    """Credits spent and saved, filtered and grouped. Days are UTC and both ends are inclusive. A
    super-admin may leave ``org_id`` out to see every org."""

    org_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    submission_id: uuid.UUID | None = None
    provider: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    group_by: list[GroupName] = Field(default_factory=list, max_length=7)

    @model_validator(mode="after")
    def _checked(self) -> UsageRequest:
        if len(set(self.group_by)) != len(self.group_by):
            raise ValueError("group_by names a group twice")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")
        return self


class UsageMeasures(BaseModel):
    calls: int
    billed_calls: int
    cached_calls: int
    cost_credits: Decimal
    saved_credits: Decimal


class UsageGroup(UsageMeasures):
    org_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    submission_id: uuid.UUID | None = None
    pipeline_run_id: uuid.UUID | None = None
    operation_id: str | None = None
    provider: str | None = None
    day: date | None = None


class UsageReport(BaseModel):
    group_by: list[GroupName]
    totals: UsageMeasures
    groups: list[UsageGroup]
    pagination: Pagination


class SubmissionUsage(UsageMeasures):
    by_provider: list[UsageGroup]
    budget_credits: Decimal | None
    parked_steps: int


class BudgetRequest(BaseModel):
    """The org's budget, or with ``submission_id`` that submission's."""

    org_id: uuid.UUID | None = None
    submission_id: uuid.UUID | None = None


class BudgetSetRequest(BudgetRequest):
    # Null removes the budget (unlimited).
    budget_credits: Decimal | None = Field(ge=0, max_digits=14, decimal_places=4)


class BudgetLimit(BaseModel):
    budget_credits: Decimal | None
    spent_credits: Decimal
    remaining_credits: Decimal | None


class BudgetView(BaseModel):
    org_id: uuid.UUID
    org: BudgetLimit
    submission_id: uuid.UUID | None
    submission: BudgetLimit | None
    parked_steps: int


class BudgetSet(BudgetView):
    requeued_steps: int
