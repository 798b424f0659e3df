"""What the ledger's rules know of its tables, which the revisions of :mod:`gateway.db.migrations` make.

Money columns are integer fen, data integer KB, instants epoch seconds, days ISO dates in the
operator's time zone, cycles ``'YYYY-MM'``.
"""

CHARGE_CATEGORIES = (
    "plan",
    "vas",
    "voice_package",
    "sms_package",
    "mms_package",
    "data_package",
    "voice",
    "sms",
    "mms",
    "data",
)
"""The order charges are listed in (101, bills). 101 tells a package's fee (``data_package``) apart from the
usage of its kind (``data``: beyond the packages, the 流量费 of 108); a bill's lines keep them together."""
