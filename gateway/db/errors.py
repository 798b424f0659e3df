"""What a statement raises when the database says no, on either engine, for callers that know no driver.

SQLite's errors are the driver's own (``sqlite3.Error``); PostgreSQL's are turned into :class:`EngineError`
at the connection (:mod:`gateway.db.postgres`), so catching one of the tuples below needs neither driver
imported by the caller, and a SQLite-only process never imports psycopg.
"""

from __future__ import annotations

import sqlite3


class EngineError(Exception):
    """An error PostgreSQL reported for a statement (its first line; the driver's error is the cause)."""


class EngineConflict(EngineError):
    """PostgreSQL ended the transaction to break a deadlock, or to keep it serialisable: nothing it did
    holds, and running it again may succeed."""


class EngineIntegrityError(EngineError):
    """A PostgreSQL statement broke a constraint (a number taken, a key repeated)."""


DatabaseError = (sqlite3.Error, EngineError)
"""Any statement the database refused: locked past its timeout, a constraint, a connection gone."""

IntegrityError = (sqlite3.IntegrityError, EngineIntegrityError)
"""A statement that broke a constraint."""
