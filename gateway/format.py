"""Money and data as a subscriber reads them. Only here do fen become 元 and KB become MB/GB."""

from __future__ import annotations

from datetime import date

KB_PER_MB = 1024
KB_PER_GB = 1024 * 1024


def yuan(fen: int) -> str:
    """``1250`` → ``'12.50元'``; ``-320`` → ``'-3.20元'``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}元"


def data(kb: int, *, down: bool = False) -> str:
    """``0MB``; KB below 1MB; else MB, or GB once the MB would round to 1024.00; two decimals, half up, or
    with ``down`` cut (data charged by the whole MB: 9.996MB reads 9.99MB, as its 9元 says, not 10.00MB).

    Below 1MB the exact KB are shown, so an amount that is not zero never reads as ``0.00MB``.
    """
    if kb < 0:
        return "-" + data(-kb, down=down)
    if kb == 0:
        return "0MB"
    if kb < KB_PER_MB:
        return f"{kb}KB"
    hundredths = _hundredths(kb, KB_PER_MB, down)
    if hundredths < 1024 * 100:
        return f"{_two_decimals(hundredths)}MB"
    return f"{_two_decimals(_hundredths(kb, KB_PER_GB, down))}GB"


def _hundredths(amount: int, unit: int, down: bool = False) -> int:
    if down:
        return amount * 100 // unit
    return (amount * 100 * 2 + unit) // (unit * 2)  # round half up, in integers


def _two_decimals(hundredths: int) -> str:
    whole, frac = divmod(hundredths, 100)
    return f"{whole}.{frac:02d}"


def day_cn(day: date) -> str:
    """``date(2026, 12, 31)`` → ``'2026年12月31日'``."""
    return f"{day.year}年{day.month}月{day.day}日"


def cycle_cn(cycle: str) -> str:
    """``'2026-10'`` → ``'2026年10月'``."""
    year, month = cycle.split("-")
    return f"{int(year)}年{int(month)}月"
