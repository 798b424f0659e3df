"""gateway.db.admin_reads, admin_changes, bulk, health, rows and marks: the operator's reads and changes, loading
many subscribers, the readiness write, and the column and parameter helpers (real SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import pytest
from support.db import new_subscriber

from gateway.db import accounts, admin_changes, admin_reads, bulk, credit, usage
from gateway.db.admin_changes import PaymentMade, PaymentOrder
from gateway.db.admin_reads import ReceivedMessage, SecretsSet, SentMessage, StatusChange, UsageReject
from gateway.db.database import Database, open_database
from gateway.db.errors import IntegrityError
from gateway.db.health import write_ready_probe
from gateway.db.marks import named_list
from gateway.db.rows import Columns
from gateway.db.unit import Tx
from gateway.errors import UnknownSubscriber
from gateway.ledger.writes import add_subscribers
from gateway.model.credit import CreditRow
from gateway.model.ledger import NewSubscriber, Subscription
from gateway.model.usage import Refusal, UsageRecord
from gateway.types import Fen

MAIN = "13800138000"  # a password, no ID number; 10.00 yuan
OTHER = "13900139000"  # suspended
STRANGER = "13700000000"  # not a subscriber


@pytest.fixture
async def db(ledger_at: str) -> AsyncIterator[Database]:
    connection = await open_database(ledger_at)
    try:
        await add_subscribers(
            connection, [new_subscriber(MAIN, cash=1000, password="135790"), new_subscriber(OTHER, status="suspended")]
        )
        yield connection
    finally:
        await connection.close()


@pytest.fixture
def tx(db: Database) -> Tx:
    return Tx(db)


# --- admin_reads ----------------------------------------------------------------------------------


async def test_subscriptions_of_newest_first(tx: Tx) -> None:
    await accounts.add_subscription(tx, msisdn=MAIN, product="DATA10", started_at=100.0, ends_at=200.0)
    await accounts.add_subscription(tx, msisdn=MAIN, product="SMS50", started_at=300.0)
    await accounts.add_subscription(tx, msisdn=MAIN, product="VOICE", started_at=300.0)
    await accounts.add_subscription(tx, msisdn=OTHER, product="DATA20", started_at=400.0)
    assert await admin_reads.subscriptions_of(tx, MAIN) == [
        Subscription(id=3, product="VOICE", started_at=300.0, ends_at=None),
        Subscription(id=2, product="SMS50", started_at=300.0, ends_at=None),
        Subscription(id=1, product="DATA10", started_at=100.0, ends_at=200.0),
    ]
    assert await admin_reads.subscriptions_of(tx, STRANGER) == []


async def test_sent_to_and_received_from_newest_first_up_to_a_limit(tx: Tx) -> None:
    await tx.execute_many(
        "INSERT INTO mo (id, source_addr, destination_addr, text, received_at, status) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (1, MAIN, "10086", "102", 10.0, "answered"),
            (2, OTHER, "10086", "101", 11.0, "new"),
            (3, MAIN, "10001", "CXYE", 12.0, "new"),
        ],
    )
    await tx.execute_many(
        "INSERT INTO mt (id, mo_id, source_addr, destination_addr, text, created_at, status, sent_at, delivery_stat)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (1, 1, "10086", MAIN, "余额10.00元", 10.5, "sent", 10.6, "DELIVRD"),
            (2, None, "10086", OTHER, "停机提醒", 11.0, "queued", None, None),
            (3, None, "10658", MAIN, "账单已出", 13.0, "failed", None, None),
        ],
    )
    assert await admin_reads.sent_to(tx, MAIN, 5) == [
        SentMessage(
            id=3, service_number="10658", text="账单已出", status="failed", created_at=13.0, sent_at=None,
            delivery_stat=None, mo_id=None,
        ),
        SentMessage(
            id=1, service_number="10086", text="余额10.00元", status="sent", created_at=10.5, sent_at=10.6,
            delivery_stat="DELIVRD", mo_id=1,
        ),
    ]  # fmt: skip
    assert [m.id for m in await admin_reads.sent_to(tx, MAIN, 1)] == [3]
    assert await admin_reads.received_from(tx, MAIN, 5) == [
        ReceivedMessage(id=3, service_number="10001", text="CXYE", status="new", received_at=12.0),
        ReceivedMessage(id=1, service_number="10086", text="102", status="answered", received_at=10.0),
    ]
    assert await admin_reads.received_from(tx, MAIN, 1) == [
        ReceivedMessage(id=3, service_number="10001", text="CXYE", status="new", received_at=12.0)
    ]


async def test_usage_rejects_after_an_id_of_one_number_or_all(tx: Tx) -> None:
    def refused(record_id: str, msisdn: str) -> Refusal:
        record = UsageRecord(id=record_id, msisdn=msisdn, category="voice", quantity=60, start=1.0, duration=60)
        return Refusal(record=record, quantity=60, reason="terminated", detail="the number is terminated")

    await usage.add_refusals(tx, [refused("r1", MAIN), refused("r2", OTHER), refused("r3", MAIN)], now=50.0)

    def reject(n: int, msisdn: str) -> UsageReject:
        return UsageReject(
            id=n, record_id=f"r{n}", msisdn=msisdn, category="voice", quantity=60, reason="terminated",
            detail="the number is terminated", rejected_at=50.0,
        )  # fmt: skip

    assert await admin_reads.usage_rejects(tx, after=0, msisdn=None, limit=10) == [
        reject(1, MAIN),
        reject(2, OTHER),
        reject(3, MAIN),
    ]
    assert await admin_reads.usage_rejects(tx, after=1, msisdn=None, limit=1) == [reject(2, OTHER)]
    assert await admin_reads.usage_rejects(tx, after=0, msisdn=MAIN, limit=10) == [reject(1, MAIN), reject(3, MAIN)]
    assert await admin_reads.usage_rejects(tx, after=3, msisdn=None, limit=10) == []


async def test_status_changes_oldest_first(tx: Tx) -> None:
    for since, state, reason in ((5.0, "suspended", "balance"), (9.0, "active", "payment")):
        row = CreditRow(
            state=state, since=since, floor=0, restore_until=None, guard_until=None, protected_at=None, reason=reason
        )
        await credit.record_transition(tx, MAIN, source="?", row=row, status=state)
    assert await admin_reads.status_changes(tx, MAIN) == [
        StatusChange(id=1, source="?", target="suspended", reason="balance", changed_at=5.0),
        StatusChange(id=2, source="?", target="active", reason="payment", changed_at=9.0),
    ]
    assert await admin_reads.status_changes(tx, OTHER) == []


async def test_secrets_set(tx: Tx) -> None:
    assert await admin_reads.secrets_set(tx, MAIN) == SecretsSet(password=True, id_number=False)
    assert await admin_reads.secrets_set(tx, OTHER) == SecretsSet(password=False, id_number=False)
    with pytest.raises(UnknownSubscriber):
        await admin_reads.secrets_set(tx, STRANGER)


# --- admin_changes --------------------------------------------------------------------------------


async def test_subscriber_status_and_is_subscriber(tx: Tx) -> None:
    assert await admin_changes.subscriber_status(tx, MAIN) == "active"
    assert await admin_changes.subscriber_status(tx, OTHER) == "suspended"
    with pytest.raises(UnknownSubscriber):
        await admin_changes.subscriber_status(tx, STRANGER)
    assert (await admin_changes.is_subscriber(tx, OTHER), await admin_changes.is_subscriber(tx, STRANGER)) == (
        True,
        False,
    )


async def test_add_subscriber_without_secrets(tx: Tx) -> None:
    new = NewSubscriber(
        msisdn=STRANGER, name="王五", brand="全球通", plan="QQT", created_on=date(2026, 11, 23), vip="gold",
        cash=100, gift=50, gift_expires=date(2026, 12, 31), credit_limit=20000, valid_until=None, points=7,
        password="135790", id_number="110101199001011234",
    )  # fmt: skip
    await admin_changes.add_subscriber(tx, new)
    assert await tx.fetch(f"SELECT {accounts.SUBSCRIBER} FROM subscriber WHERE msisdn = ?", [STRANGER]) == [
        (STRANGER, "王五", "全球通", "gold", "QQT", "active", None, None, None, "2026-11-23", None)
    ]
    assert await tx.fetch(f"SELECT {accounts.ACCOUNT} FROM account WHERE msisdn = ?", [STRANGER]) == [
        (STRANGER, 100, 50, "2026-12-31", 20000, None, 7)
    ]


async def test_record_payment_once_by_reference(tx: Tx) -> None:
    paid = PaymentMade(reference="pay-1", msisdn=MAIN, amount=Fen(2500), channel="alipay", paid_at=70.0)
    assert await admin_changes.payment_by_reference(tx, "pay-1") is None
    await admin_changes.record_payment(tx, paid)
    assert await admin_changes.payment_by_reference(tx, "pay-1") == paid
    assert await tx.fetch("SELECT cash FROM account WHERE msisdn = ?", [MAIN]) == [(3500,)]
    with pytest.raises(IntegrityError):
        await admin_changes.record_payment(tx, paid)
    assert await tx.fetch("SELECT COUNT(*) FROM payment") == [(1,)]


async def test_a_payment_to_a_number_without_an_account_is_refused_by_name(tx: Tx) -> None:
    paid = PaymentMade(reference="pay-9", msisdn="13700000009", amount=Fen(2500), channel="alipay", paid_at=70.0)
    with pytest.raises(UnknownSubscriber, match="13700000009"):
        await admin_changes.record_payment(tx, paid)


def test_a_payment_answers_only_the_same_order() -> None:
    paid = PaymentMade(reference="pay-1", msisdn=MAIN, amount=Fen(2500), channel="alipay", paid_at=70.0)
    order = PaymentOrder(reference="pay-1", msisdn=MAIN, amount=Fen(2500), channel="alipay")
    assert paid.answers(order) is True
    assert paid.answers(PaymentOrder(reference="pay-1", msisdn=MAIN, amount=Fen(2400), channel="alipay")) is False
    assert paid.answers(PaymentOrder(reference="pay-1", msisdn=OTHER, amount=Fen(2500), channel="alipay")) is False
    assert paid.answers(PaymentOrder(reference="pay-1", msisdn=MAIN, amount=Fen(2500), channel="wechat")) is False


# --- bulk and health ------------------------------------------------------------------------------


async def test_existing_msisdns_over_more_than_one_lookup(db: Database) -> None:
    people: list[bulk.PlainSubscriber] = [
        {"msisdn": str(15000000000 + n), "name": f"用户{n}", "brand": "神州行", "plan": "SZX",
         "created_on": "2025-01-01", "cash": n, "credit_limit": 0}
        for n in range(bulk.LOOKUP_CHUNK + 2)
    ]  # fmt: skip
    await bulk.add_plain_subscribers(db, people)
    asked = [p["msisdn"] for p in people[::2]] + [MAIN, STRANGER]
    assert await bulk.existing_msisdns(db, asked) == set(asked) - {STRANGER}
    assert await bulk.count_subscribers_between(db, "15000000000", "15000000009") == 10
    assert await bulk.count_subscribers_between(db, "13000000000", "14000000000") == 2  # MAIN and OTHER
    last = people[-1]["msisdn"]
    assert await db.fetch(
        "SELECT s.vip, s.status, s.password_hash, a.cash, a.gift, a.credit_limit FROM subscriber s"
        " JOIN account a ON a.msisdn = s.msisdn WHERE s.msisdn = ?",
        [last],
    ) == [("none", "active", None, 501, 0, 0)]


async def test_add_package_holders(db: Database) -> None:
    holding: bulk.PackageHolder = {
        "msisdn": MAIN, "product": "DATA10", "started_at": 100.0, "cycle": "2026-11", "category": "data",
        "fee": 1000, "charged_at": 101.0, "data_used": 2048,
    }  # fmt: skip
    await bulk.add_package_holders(db, [holding])
    fetch = db.fetch
    assert await fetch("SELECT msisdn, product, started_at, ends_at FROM subscription") == [
        (MAIN, "DATA10", 100.0, None)
    ]
    assert await fetch("SELECT msisdn, cycle, category, product, amount, charged_at FROM fee") == [
        (MAIN, "2026-11", "data", "DATA10", 1000, 101.0)
    ]
    assert await fetch("SELECT msisdn, cycle, category, quantity, charged FROM usage") == [
        (MAIN, "2026-11", "data", 2048, 0)
    ]


async def test_write_ready_probe_keeps_one_row(tx: Tx) -> None:
    await write_ready_probe(tx)
    await write_ready_probe(tx)
    assert await tx.fetch("SELECT key, value FROM meta WHERE key = 'ready_probe'") == [("ready_probe", "1")]
    assert await tx.fetch("SELECT COUNT(*) FROM meta WHERE key = 'ready_probe'") == [(1,)]


# --- rows and marks -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Pair:
    name: str
    cash: int
    note: str = ""


def test_columns_are_the_select_list() -> None:
    assert str(Columns("msisdn", "cash")) == "msisdn, cash"
    assert str(Columns("msisdn", "cash", table="a")) == "a.msisdn, a.cash"
    assert Columns("msisdn", "cash", table="a").names == ("msisdn", "cash")


def test_columns_map_a_row_by_name() -> None:
    columns = Columns("name", "cash")
    assert columns.mapping(("张三", 1200)) == {"name": "张三", "cash": 1200}
    assert columns.to(Pair, ("张三", 1200)) == Pair(name="张三", cash=1200)
    assert columns.to(Pair, ("张三", 1200), note="VIP") == Pair(name="张三", cash=1200, note="VIP")


def test_columns_refuse_a_row_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match=r"^a row of 3 values for the 2 columns name, cash$"):
        Columns("name", "cash").mapping(("张三", 1200, "extra"))
    with pytest.raises(ValueError, match=r"^a row of 1 values for the 2 columns name, cash$"):
        Columns("name", "cash").to(Pair, ("张三",))


def test_named_list() -> None:
    assert named_list(["a", "b", "c"]) == (":m0, :m1, :m2", {"m0": "a", "m1": "b", "m2": "c"})
    assert named_list([7], prefix="plan") == (":plan0", {"plan0": 7})
    assert named_list([]) == ("", {})
