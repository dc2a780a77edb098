"""A worker's slots: messages' steps wait for one in arrival order, a recording hands its steps' slots on
or back, and a wait cancelled just as a slot was handed to it does not lose the slot."""

from __future__ import annotations

import asyncio

import pytest

from dex.scaleout.worker import Slots


async def test_waiters_take_slots_in_arrival_order() -> None:
    slots = Slots(1)
    await slots.take()
    taken: list[int] = []

    async def wait(index: int) -> None:
        await slots.take()
        taken.append(index)

    waiters = [asyncio.create_task(wait(index)) for index in range(3)]
    await asyncio.sleep(0)
    for expected in range(3):
        slots.give_back()
        await asyncio.sleep(0)
        assert taken == list(range(expected + 1))
    await asyncio.gather(*waiters)
    assert slots.free == 0
    slots.give_back()
    assert slots.free == 1


async def test_giving_back_several_slots_wakes_as_many_waiters() -> None:
    slots = Slots(2)
    await slots.take()
    await slots.take()
    waiters = [asyncio.create_task(slots.take()) for _ in range(3)]
    await asyncio.sleep(0)
    slots.give_back(4)  # a recording whose four steps' runs all ended
    await asyncio.sleep(0)
    assert sum(waiter.done() for waiter in waiters) == 3
    assert slots.free == 1
    await asyncio.gather(*waiters)


async def test_a_wait_cancelled_as_its_slot_arrives_gives_the_slot_on() -> None:
    slots = Slots(1)
    await slots.take()
    first = asyncio.create_task(slots.take())
    second = asyncio.create_task(slots.take())
    await asyncio.sleep(0)
    slots.give_back()  # handed to the first waiter ...
    first.cancel()  # ... which is cancelled before it runs again
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 1)  # the slot went on to the next waiter
    assert slots.free == 0


async def test_a_cancelled_wait_leaves_the_queue() -> None:
    slots = Slots(1)
    await slots.take()
    waiting = asyncio.create_task(slots.take())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    slots.give_back()
    assert slots.free == 1
