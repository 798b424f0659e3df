"""Faults in storing an MO: a test puts its own coroutine around the inbox's store of each single MO.

The inbox hands a single MO to :meth:`Store.add_mo_then` (or, with the unit that answers it, to
:meth:`Store.add_mo_answered`) and is called back once it is committed. A test
that wants that store to take a while, to fail, or to be followed by something (a dropped link) gives
``around(mo, store)``, which must await ``store(mo)`` (the real store) or raise; what it returns is what
the inbox is told.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.db.store import Store, Then
from gateway.types import InboundMessage

StoreMo = Callable[[InboundMessage], Awaitable[InboundMessage]]
Around = Callable[[InboundMessage, StoreMo], Awaitable[Any]]


def store_mos_through(store: Store, around: Around) -> Callable[[], None]:
    """Every single MO stored through ``around`` from now on; the function returned puts it back."""
    original = store.add_mo_then
    running: set[asyncio.Task[None]] = set()

    async def real(mo: InboundMessage) -> InboundMessage:
        done: asyncio.Future[InboundMessage] = asyncio.get_running_loop().create_future()

        def then(ok: bool, value: Any) -> None:
            if ok:
                done.set_result(value)
            else:
                done.set_exception(value)

        original(mo, then)
        return await done

    async def run(mo: InboundMessage, then: Then) -> None:
        try:
            stored = await around(mo, real)
        except Exception as exc:
            then(False, exc)
            return
        then(True, stored)

    def patched(mo: InboundMessage, then: Then) -> None:
        task = asyncio.get_running_loop().create_task(run(mo, then))
        running.add(task)
        task.add_done_callback(running.discard)

    def answered_after(
        mo: InboundMessage, stored: Then, answer: Callable[[InboundMessage], Any], answered: Then
    ) -> None:
        """The MO through ``around``; then its answer's unit in a commit of its own."""

        def then(ok: bool, value: Any) -> None:
            stored(ok, value)
            if not ok:
                answered(False, value)
                return
            try:
                unit = answer(value)
            except Exception as exc:
                answered(False, exc)
                return
            store.transact_then(unit, answered)

        patched(mo, then)

    original_answered = store.add_mo_answered
    store.add_mo_then = patched  # type: ignore[method-assign]
    store.add_mo_answered = answered_after  # type: ignore[method-assign]

    def restore() -> None:
        store.add_mo_then = original  # type: ignore[method-assign]
        store.add_mo_answered = original_answered  # type: ignore[method-assign]

    return restore
