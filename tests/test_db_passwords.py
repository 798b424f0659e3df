"""gateway.db.passwords: the secrets' hashes on file and the failed checks of them (real SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.db import new_subscriber

from gateway.db import passwords
from gateway.db.database import open_database
from gateway.db.passwords import SecretHashes
from gateway.db.unit import Tx
from gateway.errors import UnknownSubscriber
from gateway.ledger.writes import add_subscribers

MAIN = "13800138000"  # a password and an ID number on file
BARE = "13900139000"  # no secrets on file
STRANGER = "13700000000"  # not a subscriber


@pytest.fixture
async def tx(ledger_at: str) -> AsyncIterator[Tx]:
    db = await open_database(ledger_at)
    try:
        secrets = new_subscriber(MAIN, password="135790", id_number="110101199001011234")
        await add_subscribers(db, [secrets, new_subscriber(BARE)])
        yield Tx(db)
    finally:
        await db.close()


async def test_secret_hashes_of_a_subscriber_with_secrets(tx: Tx) -> None:
    [row] = await tx.fetch("SELECT password_hash, id_hash, id_tail_hash FROM subscriber WHERE msisdn = ?", [MAIN])
    assert all(isinstance(value, str) and value for value in row)
    assert await passwords.secret_hashes(tx, MAIN) == SecretHashes(
        password_hash=row[0], id_hash=row[1], id_tail_hash=row[2]
    )


async def test_secret_hashes_of_a_subscriber_without_secrets(tx: Tx) -> None:
    assert await passwords.secret_hashes(tx, BARE) == SecretHashes(password_hash=None, id_hash=None, id_tail_hash=None)


async def test_secret_hashes_of_a_stranger(tx: Tx) -> None:
    with pytest.raises(UnknownSubscriber):
        await passwords.secret_hashes(tx, STRANGER)


async def test_set_password_hash_changes_only_the_password(tx: Tx) -> None:
    before = await passwords.secret_hashes(tx, MAIN)
    await passwords.set_password_hash(tx, MAIN, "pbkdf2$new")
    await passwords.set_password_hash(tx, BARE, "pbkdf2$first")
    assert await passwords.secret_hashes(tx, MAIN) == SecretHashes(
        password_hash="pbkdf2$new", id_hash=before.id_hash, id_tail_hash=before.id_tail_hash
    )
    assert await passwords.secret_hashes(tx, BARE) == SecretHashes(
        password_hash="pbkdf2$first", id_hash=None, id_tail_hash=None
    )


async def test_set_password_hash_of_a_stranger(tx: Tx) -> None:
    with pytest.raises(UnknownSubscriber):
        await passwords.set_password_hash(tx, STRANGER, "pbkdf2$new")
    assert await tx.fetch("SELECT COUNT(*) FROM subscriber WHERE password_hash = 'pbkdf2$new'") == [(0,)]


async def test_failures_are_noted_read_after_a_time_and_forgotten_up_to_one(tx: Tx) -> None:
    for at in (100.0, 200.0, 300.0):
        await passwords.add_failure(tx, MAIN, at=at)
    await passwords.add_failure(tx, BARE, at=250.0)

    assert sorted(await passwords.failure_times(tx, MAIN, after=0.0)) == [100.0, 200.0, 300.0]
    assert sorted(await passwords.failure_times(tx, MAIN, after=200.0)) == [300.0]  # strictly after
    assert await passwords.failure_times(tx, BARE, after=0.0) == [250.0]

    await passwords.forget_failures(tx, MAIN, until=200.0)  # that instant included
    assert await passwords.failure_times(tx, MAIN, after=0.0) == [300.0]
    assert await passwords.failure_times(tx, BARE, after=0.0) == [250.0]
