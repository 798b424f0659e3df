"""gateway.format (money, data, dates as a subscriber reads them), gateway.ledger.calendar (billing cycles in
the operator's time zone) and gateway.ledger.data (proration, spreading a month's data over packages)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.format import cycle_cn, data, day_cn, yuan
from gateway.ledger.calendar import (
    Calendar,
    add_months,
    days_in_month,
    last_cycles,
    next_cycle,
    previous_cycle,
)
from gateway.ledger.data import prorated, spread_data
from gateway.ledger.products import Package

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = Calendar.named("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    """The epoch instant of a Shanghai wall-clock time (test input only)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).timestamp()


# --- yuan ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "0.00元"),
        (1, "0.01元"),
        (99, "0.99元"),
        (100, "1.00元"),
        (1250, "12.50元"),
        (-320, "-3.20元"),
        (-5, "-0.05元"),
        (-100, "-1.00元"),
        (123456789, "1234567.89元"),
    ],
)
def test_yuan(fen: int, text: str) -> None:
    assert yuan(fen) == text


# --- data ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kb", "text"),
    [
        (0, "0MB"),
        (1, "1KB"),
        (5, "5KB"),  # 0.0049MB would read 0.00MB: below 1MB the exact KB are shown
        (512, "512KB"),
        (1023, "1023KB"),
        (1024, "1.00MB"),
        (1536, "1.50MB"),
        (1151, "1.12MB"),  # 1.12402…MB
        (1152, "1.13MB"),  # exactly 1.125MB: half rounds up
        (1408, "1.38MB"),  # exactly 1.375MB
        (9520, "9.30MB"),  # 9.296875MB
        (71680, "70.00MB"),
        (1048570, "1023.99MB"),  # 1023.994…MB
        (1048575, "1.00GB"),  # one KB short of 1GB: 1024.00MB would be the same amount, so GB
        (1048571, "1.00GB"),  # 1023.9951MB rounds to 1024.00MB: shown as GB
        (1048570, "1023.99MB"),  # 1023.9941MB
        (1048576, "1.00GB"),
        (1179648, "1.13GB"),  # exactly 1.125GB
        (5242880, "5.00GB"),
        (5248122, "5.00GB"),  # 5.0049999…GB
        (5248123, "5.01GB"),  # 5.0050000…GB
        (15728640, "15.00GB"),
        (-1536, "-1.50MB"),
        (-7, "-7KB"),
    ],
)
def test_data(kb: int, text: str) -> None:
    assert data(kb) == text


@pytest.mark.parametrize(
    ("kb", "text"),
    [(10236, "9.99MB"), (2047, "1.99MB"), (2048, "2.00MB"), (1048575, "1023.99MB"), (512, "512KB"), (0, "0MB")],
)
def test_data_cut_down_as_it_is_charged(kb: int, text: str) -> None:
    assert data(kb, down=True) == text


# --- day_cn, cycle_cn ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2026, 12, 31), "2026年12月31日"),
        (date(2027, 1, 5), "2027年1月5日"),
        (date(2028, 2, 29), "2028年2月29日"),
    ],
)
def test_day_cn(day: date, text: str) -> None:
    assert day_cn(day) == text


@pytest.mark.parametrize(
    ("cycle", "text"),
    [("2026-10", "2026年10月"), ("2027-01", "2027年1月"), ("2026-12", "2026年12月")],
)
def test_cycle_cn(cycle: str, text: str) -> None:
    assert cycle_cn(cycle) == text


# --- calendar: which cycle an instant is in ------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "cycle"),
    [
        (at(2026, 10, 31, 23, 59, 59), "2026-10"),
        (at(2026, 10, 31, 23, 59, 59) + 0.999, "2026-10"),
        (at(2026, 11, 1), "2026-11"),
        (at(2026, 11, 30, 23, 59, 59), "2026-11"),
        (at(2026, 12, 1), "2026-12"),
        (at(2026, 12, 31, 23, 59, 59), "2026-12"),
        (at(2027, 1, 1), "2027-01"),
        (at(2027, 2, 28, 23, 59, 59), "2027-02"),
        (at(2027, 3, 1), "2027-03"),
        (at(2028, 2, 28, 23, 59, 59), "2028-02"),  # a leap year: the 28th is not the last day
        (at(2028, 2, 29, 23, 59, 59), "2028-02"),
        (at(2028, 3, 1), "2028-03"),
        (1796054399.0, "2026-11"),  # 2026-11-30 15:59:59 UTC = 23:59:59 in Shanghai
        (1796054400.0, "2026-12"),  # 2026-11-30 16:00:00 UTC is already December in Shanghai
    ],
)
def test_cycle_boundary_is_local_midnight_on_the_first(instant: float, cycle: str) -> None:
    assert CALENDAR.cycle(instant) == cycle


def test_local_time_and_today_of_the_manual_clock_instant() -> None:
    assert CALENDAR.local(1795400000.0).replace(tzinfo=None) == datetime(2026, 11, 23, 10, 13, 20)
    assert CALENDAR.today(1795400000.0) == date(2026, 11, 23)
    assert CALENDAR.cycle(1795400000.0) == "2026-11"


@pytest.mark.parametrize(
    ("cycle", "start", "end"),
    [
        ("2026-11", 1793462400.0, 1796054400.0),  # 2026-10-31 16:00 UTC to 2026-11-30 16:00 UTC
        ("2026-12", 1796054400.0, 1798732800.0),  # 31 days on
        ("2027-01", 1798732800.0, 1801411200.0),
        ("2027-02", 1801411200.0, 1803830400.0),  # 28 days
    ],
)
def test_cycle_start_and_end(cycle: str, start: float, end: float) -> None:
    assert CALENDAR.cycle_start(cycle) == start
    assert CALENDAR.cycle_end(cycle) == end


# --- calendar: month arithmetic ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cycle", "months", "result"),
    [
        ("2026-11", 0, "2026-11"),
        ("2026-11", 1, "2026-12"),
        ("2026-12", 1, "2027-01"),
        ("2027-01", -1, "2026-12"),
        ("2026-11", -11, "2025-12"),
        ("2026-11", -10, "2026-01"),
        ("2026-11", 14, "2028-01"),
        ("2026-11", -23, "2024-12"),
        ("2026-01", -24, "2024-01"),
    ],
)
def test_add_months(cycle: str, months: int, result: str) -> None:
    assert add_months(cycle, months) == result


def test_next_and_previous_cycle_across_the_year() -> None:
    assert next_cycle("2026-12") == "2027-01"
    assert previous_cycle("2027-01") == "2026-12"
    assert previous_cycle("2026-11") == "2026-10"


@pytest.mark.parametrize(
    ("cycle", "count", "cycles"),
    [
        ("2026-11", 6, ["2026-10", "2026-09", "2026-08", "2026-07", "2026-06", "2026-05"]),
        ("2027-02", 3, ["2027-01", "2026-12", "2026-11"]),
        ("2026-11", 1, ["2026-10"]),
        ("2026-11", 0, []),
    ],
)
def test_last_cycles_are_the_ones_before_newest_first(cycle: str, count: int, cycles: list[str]) -> None:
    assert last_cycles(cycle, count) == cycles


@pytest.mark.parametrize(
    ("cycle", "days"),
    [
        ("2026-01", 31),
        ("2026-04", 30),
        ("2026-11", 30),
        ("2026-12", 31),
        ("2027-02", 28),
        ("2028-02", 29),
        ("2000-02", 29),
        ("2100-02", 28),
    ],
)
def test_days_in_month(cycle: str, days: int) -> None:
    assert days_in_month(cycle) == days


# --- data: proration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "started_at", "quota"),
    [
        (71680, at(2026, 11, 15, 23, 59, 59), 71680),  # the 15th, last second: the whole month
        (71680, at(2026, 11, 16), 35840),  # the 16th, first second: half
        (30721, at(2026, 11, 16), 15360),  # half of an odd amount is rounded down
        (300, at(2026, 11, 30, 23, 59, 59), 150),
        (71680, at(2026, 11, 1), 71680),
        (71680, at(2026, 10, 20, 12), 71680),  # started on the 20th of an earlier month: whole
        (71680, at(2025, 11, 20, 12), 71680),  # same month a year earlier: whole
        (71680, 1794758400.0, 35840),  # 2026-11-15 16:00:00 UTC is already the 16th in Shanghai
        (71680, 1794758399.0, 71680),  # 2026-11-15 15:59:59 UTC is still the 15th
    ],
)
def test_prorated_in_the_november_cycle(amount: int, started_at: float, quota: int) -> None:
    assert prorated(amount, started_at, "2026-11", CALENDAR) == quota


def test_prorated_in_the_month_after_a_late_start_is_whole() -> None:
    assert prorated(71680, at(2026, 11, 20), "2026-12", CALENDAR) == 71680


# --- data: spreading a month's data over the packages --------------------------------------------


def package(code: str) -> Package:
    return Package(code=code, name=f"{code}包", kind="data", monthly_fee_fen=300, quota_kb=0)


A, B = package("A"), package("B")


@pytest.mark.parametrize(
    ("used_kb", "packages", "uses", "outside"),
    [
        (0, [(A, 100), (B, 50)], [("A", 100, 0, 100), ("B", 50, 0, 50)], 0),
        (60, [(A, 100), (B, 50)], [("A", 100, 60, 40), ("B", 50, 0, 50)], 0),
        (100, [(A, 100), (B, 50)], [("A", 100, 100, 0), ("B", 50, 0, 50)], 0),
        (120, [(A, 100), (B, 50)], [("A", 100, 100, 0), ("B", 50, 20, 30)], 0),
        (150, [(A, 100), (B, 50)], [("A", 100, 100, 0), ("B", 50, 50, 0)], 0),
        (200, [(A, 100), (B, 50)], [("A", 100, 100, 0), ("B", 50, 50, 0)], 50),
        (120, [(B, 50), (A, 100)], [("B", 50, 50, 0), ("A", 100, 70, 30)], 0),  # in the order given
        (30, [], [], 30),
        (0, [], [], 0),
    ],
)
def test_spread_data(
    used_kb: int,
    packages: list[tuple[Package, int]],
    uses: list[tuple[str, int, int, int]],
    outside: int,
) -> None:
    spread, beyond = spread_data(used_kb, packages)
    assert [(u.package.code, u.quota_kb, u.used_kb, u.left_kb) for u in spread] == uses
    assert beyond == outside
