"""The ledger of the 502/503 password tests: four subscribers with a service password, an ID number, both
or one, the old password they share and a new one that keeps every rule."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

from gateway.db.database import open_database
from gateway.ledger.writes import add_subscribers
from gateway.model.ledger import NewSubscriber

OLD = "582947"
NEW = "730518"
ID_NUMBER = "110105198805164927"  # its last 6 digits, 164927, keep rules 1-4
ID_WITH_X = "31010419920814215X"

ALICE = "13912846305"  # password and ID number; her phone tail 846305 keeps rules 1-3
BOB = "13800000202"  # password and an ID number ending in X
NO_PASSWORD = "13800000203"  # ID number only
NO_ID = "13800000204"  # password only


def person(msisdn: str, **secrets: Any) -> NewSubscriber:
    return NewSubscriber(
        msisdn=msisdn, name="测试用户", brand="神州行", plan="SZX", created_on=date(2026, 1, 1), **secrets
    )


_seeded: bytes | None = None  # the ledger file as seeded once in this process


async def seed(path: Path) -> None:
    """The four subscribers at ``path``: seeded (six secrets hashed, about half a second) the first time in
    this process, a copy of that file after."""
    global _seeded
    if _seeded is None:
        db = await open_database(str(path))
        await add_subscribers(
            db,
            [
                person(ALICE, password=OLD, id_number=ID_NUMBER),
                person(BOB, password=OLD, id_number=ID_WITH_X),
                person(NO_PASSWORD, id_number=ID_NUMBER),
                person(NO_ID, password=OLD),
            ],
        )
        await db.close()  # the last connection closed: the WAL folded into the file, which is all there is
        _seeded = await asyncio.to_thread(path.read_bytes)
    else:
        await asyncio.to_thread(path.write_bytes, _seeded)
