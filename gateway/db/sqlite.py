"""Opening an SQLite connection through aiosqlite, safely even when the opener is cancelled."""

from __future__ import annotations

import asyncio
from contextlib import suppress

import aiosqlite


async def connect(path: str) -> aiosqlite.Connection:
    """``aiosqlite.connect`` that, cancelled half-way, waits for the connection and closes it before it gives up.

    aiosqlite's own way out of a cancelled connect leaves its thread to answer into the event loop later,
    when that loop may be closed ("Event loop is closed" raised in the thread, after the task is long gone).
    """
    opening = asyncio.ensure_future(_connected(path))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        with suppress(Exception):
            await (await opening).close()
        raise


async def _connected(path: str) -> aiosqlite.Connection:
    return await aiosqlite.connect(path)
