"""Where the ledger is: a SQLite file (``ledger.path``) or a PostgreSQL database (``ledger.url``).

Light on purpose (no driver, no SQLAlchemy): every command asks which it is before it opens anything.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_QUERY_PASSWORD = re.compile(r"(?i)(^|&)(password)=[^&]*")


def is_url(ledger: str) -> bool:
    """Whether ``ledger`` names a PostgreSQL database (``postgresql://…``) rather than a SQLite file."""
    return ledger.startswith(("postgresql://", "postgres://"))


def shown(ledger: str) -> str:
    """The ledger as it may be logged or told: a URL with its password masked (``user:***@host``), a path as
    it is. A URL that does not parse is not shown at all: it may hold a password anywhere."""
    if not is_url(ledger):
        return ledger
    try:
        parts = urlsplit(ledger)
        userinfo, at, host = parts.netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
    except ValueError:
        return "postgresql://…"
    netloc = f"{user}:***@{host}" if colon else parts.netloc
    query = _QUERY_PASSWORD.sub(r"\1\2=***", parts.query)
    return urlunsplit(parts._replace(netloc=netloc if at else parts.netloc, query=query))
