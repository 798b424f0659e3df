"""The floor for the benchmarks: a minimal ESME that answers every MO with a fixed text and does no other work.

It runs the gateway's own SMPP stack (:class:`gateway.link.Link`, the sans-IO session, window 64) but no
inbox, no ledger, no durable outbox: each deliver_sm is acknowledged and answered with one submit_sm at
once. What the gateway costs on top of this is the price of storing before acknowledging, reading the
ledger and committing the answer.

Usage (the harness starts it): ``python bench/floor_esme.py PORT``; SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys

from gateway.link import DeliverHandle, Link, LinkSettings
from gateway.smpp.codec import ShortMessage
from gateway.smpp.session import SessionConfig
from gateway.smpp.text import split_text

ANSWER = "您好，您的账户余额为78.90元。"


class FloorEsme:
    def __init__(self, port: int) -> None:
        settings = LinkSettings(
            host="127.0.0.1",
            port=port,
            session=SessionConfig(system_id="gateway", password="secret", window=64),
        )
        self.link = Link(settings, self)
        self._next = 1
        self._answer = split_text(ANSWER, reference=0)[0]

    def deliver_received(self, handle: DeliverHandle, message: ShortMessage) -> None:
        self.link.answer_deliver(handle, 0)
        ref = self._next
        self._next += 1
        part = self._answer
        self.link.submit(
            ref,
            ShortMessage(
                source_addr=message.destination_addr,
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr=message.source_addr,
                data_coding=part.data_coding,
                short_message=part.short_message,
            ),
        )

    def submit_accepted(self, ref: int, message_id: str) -> None:
        self.link.forget(ref)

    def submit_failed(self, ref: int, command_status: int) -> None:
        self.link.forget(ref)

    def bind_changed(self, bound: bool) -> None:
        pass

    def acks_uncertain(self, tokens: list[object]) -> None:
        pass

    def acks_unsent(self, tokens: list[object]) -> None:
        pass

    def acks_confirmed(self, tokens: list[object]) -> None:
        pass


async def main(port: int) -> None:
    esme = FloorEsme(port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = asyncio.create_task(esme.link.run())
    gc.collect()
    gc.freeze()  # as the gateway does once it has started
    await stop.wait()
    await esme.link.stop(2.0)
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
