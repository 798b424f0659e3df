"""gateway.db.dialogs: the one pending dialog per subscriber and service number, its facts in JSON (real SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.db import opened

from gateway.db import dialogs
from gateway.db.dialogs import StoredDialog
from gateway.db.unit import Tx

SUBSCRIBER = "13800138000"
OTHER = "13900139000"

ORDER = StoredDialog(
    kind="order", state="confirming", data={"product": "GPRS10", "名称": "10元流量包", "fee": 1000}, expires_at=400.0
)


@pytest.fixture
async def tx(ledger_at: str) -> AsyncIterator[Tx]:
    async with opened(ledger_at) as handle:
        yield handle


async def test_load_gives_back_what_was_saved_with_its_chinese_text_intact(tx: Tx) -> None:
    await dialogs.save(tx, SUBSCRIBER, "10086", ORDER)
    assert await dialogs.load(tx, SUBSCRIBER, "10086") == ORDER
    assert await tx.fetch("SELECT data FROM dialog") == [('{"product": "GPRS10", "名称": "10元流量包", "fee": 1000}',)]


async def test_nothing_pending_loads_as_none(tx: Tx) -> None:
    await dialogs.save(tx, SUBSCRIBER, "10086", ORDER)
    assert await dialogs.load(tx, SUBSCRIBER, "10010") is None
    assert await dialogs.load(tx, OTHER, "10086") is None


async def test_save_replaces_the_dialog_on_that_number(tx: Tx) -> None:
    cancel = StoredDialog(kind="cancel", state="picking", data={"choices": ["GPRS10", "DX6"]}, expires_at=500.0)
    await dialogs.save(tx, SUBSCRIBER, "10086", ORDER)
    await dialogs.save(tx, SUBSCRIBER, "10086", cancel)
    assert await dialogs.load(tx, SUBSCRIBER, "10086") == cancel
    assert await tx.fetch("SELECT COUNT(*) FROM dialog") == [(1,)]


async def test_delete_removes_only_that_dialog(tx: Tx) -> None:
    await dialogs.save(tx, SUBSCRIBER, "10086", ORDER)
    await dialogs.save(tx, SUBSCRIBER, "10010", ORDER)
    await dialogs.delete(tx, SUBSCRIBER, "10086")
    assert await dialogs.load(tx, SUBSCRIBER, "10086") is None
    assert await dialogs.load(tx, SUBSCRIBER, "10010") == ORDER


async def test_all_pending_lists_each_dialog_with_its_expiry_and_kind(tx: Tx) -> None:
    reset = StoredDialog(kind="password_reset", state="asking_id", data={}, expires_at=300.5)
    await dialogs.save(tx, SUBSCRIBER, "10086", ORDER)
    await dialogs.save(tx, OTHER, "10086", reset)
    assert sorted(await dialogs.all_pending(tx)) == [
        (SUBSCRIBER, "10086", 400.0, "order"),
        (OTHER, "10086", 300.5, "password_reset"),
    ]
    await dialogs.delete(tx, OTHER, "10086")
    assert await dialogs.all_pending(tx) == [(SUBSCRIBER, "10086", 400.0, "order")]
