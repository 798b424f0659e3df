"""gateway.ratelimit, and the limit end to end: one polite answer per window, then silence."""

from __future__ import annotations

import asyncio

from conftest import SUBSCRIBER, StartGateway

from gateway.clock import ManualClock
from gateway.ratelimit import RateLimiter, Verdict
from gateway.smsc import SmscSimulator

A, W, S = Verdict.ALLOW, Verdict.WARN, Verdict.SILENT


def test_per_minute_limit_warns_once_then_is_silent_until_the_window_frees() -> None:
    limiter = RateLimiter([(3, 60.0)])
    verdicts = [limiter.check("x", t) for t in (0, 1, 2, 3, 4, 59.9)]
    assert verdicts == [A, A, A, W, S, S]
    assert limiter.check("x", 60.0) is A  # the MO at 0 has left the window
    assert limiter.check("x", 60.5) is W  # full again: told once more


def test_subscribers_are_counted_apart_and_zero_means_no_limit() -> None:
    limiter = RateLimiter([(1, 60.0), (0, 3600.0)])
    assert [limiter.check("x", 0), limiter.check("y", 0), limiter.check("x", 1)] == [A, A, W]
    unlimited = RateLimiter([(0, 60.0)])
    assert {unlimited.check("x", float(t)) for t in range(1000)} == {A}


def test_a_count_taken_back_is_the_senders_last_and_only_that() -> None:
    limiter = RateLimiter([(2, 60.0)])
    assert [limiter.check("x", 0), limiter.check("x", 1)] == [A, A]
    limiter.uncount("x", 0)  # not the last: nothing taken back
    assert limiter.counted("x") == 2
    limiter.uncount("x", 1)
    limiter.uncount("y", 1)  # a sender never counted
    assert (limiter.counted("x"), limiter.counted("y")) == (1, 0)
    assert limiter.check("x", 2) is A  # room again for one


def test_silenced_is_what_check_would_say_without_counting() -> None:
    limiter = RateLimiter([(2, 60.0)])
    assert [limiter.check("x", t) for t in (0.0, 1.0)] == [A, A]
    assert not limiter.silenced("x", 2.0)  # over the limit but not told yet: the next one is warned
    assert limiter.check("x", 2.0) is W
    assert limiter.silenced("x", 3.0) and limiter.silenced("x", 3.0)  # asking twice counts nothing
    assert not limiter.silenced("y", 3.0)
    assert not limiter.silenced("x", 60.0)  # the first has left the window
    assert limiter.check("x", 60.0) is A


def test_senders_are_forgotten_after_the_longest_window() -> None:
    """Memory is bounded by the senders of the last window, not by every sender ever seen."""
    limiter = RateLimiter([(20, 60.0), (200, 3600.0)])
    for n in range(5000):
        limiter.check(f"s{n}", float(n % 10))
    assert len(limiter) == 5000
    limiter.sweep(1000.0)
    assert len(limiter) == 5000  # all seen within the hour
    limiter.check("late", 1500.0)  # a check sweeps too, but at most once a quarter of the window
    assert len(limiter) == 5001
    limiter.sweep(3610.0)  # the first 5000 were last seen at 0-9 s, an hour ago or more
    assert len(limiter) == 1


def test_the_hourly_limit_holds_when_each_minute_is_under_its_own() -> None:
    limiter = RateLimiter([(20, 60.0), (200, 3600.0)])
    times = [minute * 60.0 + i for minute in range(10) for i in range(20)]  # 200 in 10 minutes
    assert {limiter.check("x", t) for t in times} == {A}
    assert limiter.check("x", 600.0) is W
    assert limiter.check("x", 3599.0) is S
    assert limiter.check("x", 3600.0) is A  # the first of the 200 is an hour old


async def test_a_flood_from_one_number_gets_one_polite_answer_and_others_are_still_served(
    sim: SmscSimulator, start_gateway: StartGateway
) -> None:
    clock = ManualClock(1_795_400_000.0)
    gateway = await start_gateway(clock=clock, gateway__rate_limit_per_minute="5")
    for _ in range(12):
        await sim.send_mo(SUBSCRIBER, "10001", "?")
    await sim.send_mo("13900139000", "10001", "?")
    mts = await sim.wait_for_mts(7, timeout=10)
    await asyncio.sleep(0.5)
    flood = [mt.text for mt in sim.mts if mt.destination_addr == SUBSCRIBER]
    assert len(flood) == 6 and flood[5] == "您好，您发送短信过于频繁，请稍后再试。"
    assert len({mt.text for mt in mts[:5]}) == 1  # five help answers
    assert [mt.destination_addr for mt in sim.mts].count("13900139000") == 1
    # Once told, the sender's next MOs are acknowledged without being stored (the inbox asks the limiter).
    silenced = gateway.inbox.silenced
    assert gateway.responder.rate_limited + silenced == 7 and silenced >= 1
    assert await gateway.store.fetch("SELECT COUNT(*) FROM mo") == [(13 - silenced,)]
    clock.advance(60)
    await sim.send_mo(SUBSCRIBER, "10001", "?")
    await sim.wait_for_mts(8, timeout=5)


def test_counts_made_across_instances_tell_the_first_over_a_limit_and_silence_the_rest() -> None:
    limiter = RateLimiter([(3, 60.0), (5, 3600.0)])
    assert limiter.windows == [60.0, 3600.0]
    assert limiter.judge([2, 4]) is Verdict.ALLOW
    assert limiter.judge([3, 3]) is Verdict.WARN  # the minute is full: this one is told
    assert limiter.judge([4, 4]) is Verdict.SILENT
    assert limiter.judge([0, 5]) is Verdict.WARN  # the hour is full
    assert limiter.judge([3, 6]) is Verdict.SILENT
    assert RateLimiter([(0, 60.0)]).judge([]) is Verdict.ALLOW  # no limit
