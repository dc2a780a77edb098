"""The hard-budget scenarios of ``tests/usage/test_hard_budgets.py`` with two ``dex worker`` processes
spending at once, over RabbitMQ and over Redis: reservations hold across processes."""

from __future__ import annotations

import pytest

from tests.usage import test_hard_budgets as scenarios

pytestmark = pytest.mark.xdist_group("scaleout")

test_hard_budget = scenarios.test_a_100_company_batch_spends_no_more_than_its_50_credit_budget
