"""The dispatcher: one MO per sender in hand, in arrival order; a turn claimed for an MO answered in the commit
that stores it holds the sender's later MOs back until it is released or handed on."""

from __future__ import annotations

import asyncio

from gateway.dispatch import Dispatcher
from gateway.types import InboundMessage


def mo(mo_id: int, source: str = "13800138000") -> InboundMessage:
    return InboundMessage(id=mo_id, source_addr=source, destination_addr="10001", text="102", received_at=0.0)


class Handler:
    def __init__(self) -> None:
        self.handed: list[int] = []
        self.finish: dict[int, object] = {}

    def __call__(self, message: InboundMessage, finished: object) -> None:
        self.handed.append(message.id)
        self.finish[message.id] = finished


async def test_one_mo_per_sender_in_hand_the_next_after_it_finishes() -> None:
    handler = Handler()
    dispatcher = Dispatcher(handler)
    dispatcher.put(mo(1))
    dispatcher.put(mo(2))
    dispatcher.put(mo(3, source="13900139000"))
    assert handler.handed == [1, 3]
    handler.finish[1]()  # type: ignore[operator]
    await dispatcher_turn()
    assert handler.handed == [1, 3, 2]


async def test_a_claimed_turn_holds_the_senders_later_mos_until_released() -> None:
    handler = Handler()
    dispatcher = Dispatcher(handler)
    assert dispatcher.claim("13800138000")
    assert not dispatcher.claim("13800138000")  # one turn at a time
    dispatcher.put(mo(2))  # stored while the claimed one is being stored and answered
    assert handler.handed == [] and dispatcher.pending == 2
    dispatcher.release("13800138000")
    await dispatcher_turn()
    assert handler.handed == [2]
    handler.finish[2]()  # type: ignore[operator]
    assert dispatcher.pending == 0 and dispatcher.claim("13800138000")


async def test_a_claimed_turn_handed_on_is_handled_first_then_the_rest() -> None:
    handler = Handler()
    dispatcher = Dispatcher(handler)
    assert dispatcher.claim("13800138000")
    dispatcher.put(mo(8))
    dispatcher.hand_on(mo(7))  # stored, not answered with it: the usual way, still before the later one
    assert handler.handed == [7]
    handler.finish[7]()  # type: ignore[operator]
    await dispatcher_turn()
    assert handler.handed == [7, 8]


async def dispatcher_turn() -> None:
    """The next MO of a sender goes in a later turn of the loop."""
    await asyncio.sleep(0)
