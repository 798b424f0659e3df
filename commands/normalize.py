"""MO text → the code a catalog is keyed by: full-width to half-width, upper case, no spaces or separators.

What handsets add without showing it goes first: Unicode format characters (category Cf: the zero-width
space, the BOM, the RLM and LRM marks, the zero-width joiner) and control characters (Cc: NUL, ESC, DEL,
tabs and line breaks). Then NFKC (full-width forms, superscripts, circled digits), then every other digit
(Arabic-Indic ``١٠٢``, Devanagari, ``❶``: anything ``str.isdigit`` takes) becomes its ASCII digit, so a
normalised text is digits only if it is ASCII digits, and ``int()`` of it cannot fail.
"""

from __future__ import annotations

import unicodedata

_DROP = str.maketrans("", "", " \t\r\n+#\u3000")
_INVISIBLE = frozenset({"Cf", "Cc"})
_ASCII_DROP = str.maketrans("", "", "".join(map(chr, (*range(0x20), 0x7F))) + " +#")  # Cc and separators


def normalize(text: str) -> str:
    """``' ｋｔｇｐｒｓ１０ '`` → ``'KTGPRS10'``; ``'\\ufeff١٠٢'`` → ``'102'``; ``'是'`` stays ``'是'``."""
    if text.isascii():  # most MOs: NFKC leaves ASCII as it is, and its only invisible characters are Cc
        return text.translate(_ASCII_DROP).upper()
    shown = "".join(c for c in text if unicodedata.category(c) not in _INVISIBLE)
    folded = unicodedata.normalize("NFKC", shown)
    return "".join(_ascii_digit(c) for c in folded).translate(_DROP).upper()


def _ascii_digit(c: str) -> str:
    """``c`` as an ASCII digit if it is a digit of any script (NFKC leaves these), else ``c``."""
    return str(unicodedata.digit(c)) if c.isdigit() and not c.isascii() else c
