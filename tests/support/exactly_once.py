"""The ledger of the exactly-once and redelivery tests, one subscriber (李明, 58.90元 in cash), a wait for
the simulator to have read a number of submit_sm, and one for the gateway to have recorded its MTs sent."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date
from pathlib import Path

from conftest import SUBSCRIBER

from gateway.db.database import open_database
from gateway.ledger.writes import add_subscribers
from gateway.model.ledger import NewSubscriber
from gateway.smsc import SmscSimulator


async def seed(path: Path) -> None:
    db = await open_database(str(path))
    await add_subscribers(
        db,
        [
            NewSubscriber(
                msisdn=SUBSCRIBER, name="李明", brand="神州行", plan="SZX", created_on=date(2024, 1, 1), cash=5890
            )
        ],
    )
    await db.close()


async def wait_submits(sim: SmscSimulator, count: int) -> None:
    async with asyncio.timeout(5):
        while sim.submits < count:
            await asyncio.sleep(0.01)


async def wait_recorded_sent(path: Path, count: int) -> None:
    """Until the gateway in another process has committed ``count`` MTs as accepted by the SMSC: an MT
    accepted but not yet recorded when the process dies is sent again after the restart, rightly."""

    def sent() -> int:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT count(*) FROM mt WHERE status = 'sent'").fetchone()[0])

    async with asyncio.timeout(5):
        while await asyncio.to_thread(sent) < count:
            await asyncio.sleep(0.01)
