"""A publish's steps split into messages: every step once, in order, spread over many messages while
there are few steps and packed full when there are many."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from dex.scaleout.broker import MESSAGES_PER_SEND, STEP_ACTOR, STEPS_PER_MESSAGE, step_messages


@given(st.integers(min_value=0, max_value=2000))
def test_messages_name_every_step_once_in_order(count: int) -> None:
    step_ids = [uuid.UUID(int=n) for n in range(count)]
    messages = list(step_messages(step_ids))
    named = [uuid.UUID(step_id) for message in messages for step_id in message.args[0]]
    assert named == step_ids
    assert all(message.actor_name == STEP_ACTOR for message in messages)
    assert all(1 <= len(message.args[0]) <= STEPS_PER_MESSAGE for message in messages)
    # A small burst reaches as many workers' threads as it can; a large one costs few messages.
    assert len(messages) >= min(count, MESSAGES_PER_SEND)
    if count >= MESSAGES_PER_SEND * STEPS_PER_MESSAGE:
        assert len(messages) == -(-count // STEPS_PER_MESSAGE)
