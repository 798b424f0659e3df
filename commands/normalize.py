"""MO text → the code a catalog is keyed by: full-width to half-width, upper case, no spaces or separators."""

from __future__ import annotations

import unicodedata

_DROP = str.maketrans("", "", " \t\r\n+#\u3000")


def normalize(text: str) -> str:
    """``' ｋｔｇｐｒｓ１０ '`` → ``'KTGPRS10'``; ``'是'`` stays ``'是'``."""
    return unicodedata.normalize("NFKC", text).translate(_DROP).upper()
