"""What the ledger's rules know of its tables, which the revisions of :mod:`gateway.db.migrations` make.

Money columns are integer fen, data integer KB, instants epoch seconds, days ISO dates in the
operator's time zone, cycles ``'YYYY-MM'``.
"""

CHARGE_CATEGORIES = ("plan", "vas", "voice", "sms", "mms", "data")
"""The order charges are listed in (101, bills)."""
