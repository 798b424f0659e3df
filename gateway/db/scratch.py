"""A throw-away ledger for one run of ``gateway demo`` or one conversation of ``gateway converse``.

Without a server it is a new SQLite file in the run's folder. With one (a ``postgresql://`` URL, from
``ledger.url``), it is a new database on that server, named after the URL's own with a random suffix, made
before the run and dropped after it (the URL's role needs CREATEDB); the URL's own database is only
connected to, to make and drop it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

from gateway.db.target import is_url


@asynccontextmanager
async def scratch_ledger(server: str, folder: str, name: str) -> AsyncIterator[str]:
    """Where the new ledger is (a path or a URL), for the length of the ``async with``."""
    if not is_url(server):
        yield os.path.join(folder, f"{name}.db")
        return
    from gateway.db import postgres  # psycopg only for a process that uses it

    parts = urlsplit(server)
    database = f"{(parts.path.lstrip('/') or 'gateway')}_{name}_{secrets.token_hex(4)}"
    admin = await postgres.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
        try:
            yield urlunsplit(parts._replace(path=f"/{database}"))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await admin.close()
