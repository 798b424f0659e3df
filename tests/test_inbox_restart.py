"""gateway.inbox across a restart: parts of a concatenated MO stored before it are joined after it."""

from __future__ import annotations

import asyncio

import pytest
from conftest import SUBSCRIBER, StartGateway
from support.texts import HELP_10086, TEXT

from gateway.app import Gateway
from gateway.clock import ManualClock
from gateway.smpp.codec import ShortMessage
from gateway.smpp.constants import DataCoding, Status
from gateway.smpp.text import Concat, split_text
from gateway.smsc import SmscSimulator

REFERENCE = 42


def deliver_parts(concat: Concat = Concat.UDH8) -> list[ShortMessage]:
    parts = split_text(TEXT, reference=REFERENCE, concat=concat)
    assert [p.data_coding for p in parts] == [DataCoding.UCS2] * 3
    return [
        ShortMessage(
            source_addr=SUBSCRIBER,
            destination_addr="10086",
            esm_class=p.esm_class,
            data_coding=p.data_coding,
            short_message=p.short_message,
            tlvs=p.tlvs,
        )
        for p in parts
    ]


async def rows(gateway: Gateway, sql: str) -> list[tuple[object, ...]]:
    return await gateway.store.fetch(sql)


async def send(sim: SmscSimulator, *parts: ShortMessage) -> None:
    for part in parts:
        assert await sim.send_deliver(part) == Status.ESME_ROK


async def assert_answered_once(sim: SmscSimulator, gateway: Gateway) -> None:
    [mt] = await sim.wait_for_mts(1)
    assert (mt.source_addr, mt.destination_addr, mt.text) == ("10086", SUBSCRIBER, HELP_10086)
    await asyncio.sleep(0.3)  # nothing else follows
    assert len(sim.mts) == 1
    assert await rows(gateway, "SELECT text, complete, status FROM mo") == [(TEXT, 1, "answered")]
    assert await rows(gateway, "SELECT COUNT(*) FROM mo_part") == [(0,)]
    assert await rows(gateway, "SELECT text, status FROM mt") == [(HELP_10086, "sent")]


@pytest.mark.parametrize("concat", list(Concat))
async def test_parts_stored_before_a_restart_are_joined_after_it(
    sim: SmscSimulator, start_gateway: StartGateway, concat: Concat
) -> None:
    first, second, third = deliver_parts(concat)
    before = await start_gateway()
    await send(sim, first, second)
    assert await rows(before, "SELECT reference, total, seqno FROM mo_part ORDER BY seqno") == [
        (REFERENCE, 3, 1),
        (REFERENCE, 3, 2),
    ]
    assert await rows(before, "SELECT COUNT(*) FROM mo") == [(0,)]
    await before.stop()

    after = await start_gateway()  # same tmp_path: the same ledger file
    await send(sim, third)
    await assert_answered_once(sim, after)


async def test_a_redelivered_part_does_not_break_the_join(sim: SmscSimulator, gateway: Gateway) -> None:
    first, second, third = deliver_parts()
    await send(sim, first, first, second)
    assert await rows(gateway, "SELECT seqno FROM mo_part ORDER BY seqno") == [(1,), (2,)]
    await send(sim, third)
    await assert_answered_once(sim, gateway)


async def test_a_part_redelivered_after_a_restart_does_not_break_the_join(
    sim: SmscSimulator, start_gateway: StartGateway
) -> None:
    first, second, third = deliver_parts()
    before = await start_gateway()
    await send(sim, first, second)
    await before.stop()

    after = await start_gateway()
    await send(sim, second)  # the SMSC never saw our answer to it
    assert await rows(after, "SELECT seqno FROM mo_part ORDER BY seqno") == [(1,), (2,)]
    await send(sim, third)
    await assert_answered_once(sim, after)


async def test_a_part_redelivered_after_the_join_gets_no_second_answer(
    sim: SmscSimulator, start_gateway: StartGateway
) -> None:
    clock = ManualClock(1_795_000_000.0)
    gateway = await start_gateway(clock=clock)
    first, second, third = deliver_parts()
    await send(sim, first, second, third)
    await sim.wait_for_mts(1)
    await send(sim, third)  # the SMSC lost our deliver_sm_resp and tries again
    clock.advance(61)  # past the reassembly timeout: a stray part would now be answered as incomplete
    await asyncio.sleep(1.5)  # the expiry check runs every second
    await assert_answered_once(sim, gateway)
