"""The journal and cache rows name the columns their set-based writes fill: the column lists derive from
the row types (a misspelt key is a mypy error), and the types are held to the tables here."""

from __future__ import annotations

from sqlalchemy import Table

from dex.providers.groupcommit import AnswerNote, JournalRow, StoreRow
from dex.providers.models import EnrichmentCacheEntry, JournaledCall


def _columns(table: Table) -> set[str]:
    return {column.name for column in table.c}


def test_a_journal_row_carries_every_column_but_the_answer_the_reservation_the_time_and_slot() -> None:
    answer = set(AnswerNote.__annotations__) - {"call_id"}
    assert answer == {"http_status", "cost_credits", "response"}
    # The reservation is written only by the reserving insert, beside the row's own columns; a row is
    # released only by recovery; its partition is the hour the database writes it in.
    assert set(JournalRow.__annotations__) == _columns(JournaledCall.__table__) - answer - {
        "answered",
        "created_at",
        "reserved_credits",
        "released",
        "slot",
    }


def test_a_cache_store_row_carries_every_column_but_the_times_and_adds_its_ttl() -> None:
    stored = set(StoreRow.__annotations__) - {"ttl_seconds"}
    assert stored == _columns(EnrichmentCacheEntry.__table__) - {"expires_at", "created_at"}
