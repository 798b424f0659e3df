"""``GET /metrics`` over real TCP: the counters move by exactly what flowed through the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from pathlib import Path

import aiohttp
import pytest
from conftest import StartGateway
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import Gateway
from gateway.db.database import open_database
from gateway.ledger.writes import add_subscribers
from gateway.metrics import Metrics
from gateway.model.ledger import NewSubscriber
from gateway.smpp.codec import Pdu, ShortMessage, encode_pdu
from gateway.smpp.constants import CommandId, EsmClass, Status
from gateway.smsc import SmscSimulator
from gateway.smsc import core as smsc_core
from gateway.types import InboundMessage

STRANGERS = [f"1390000{n:04d}" for n in range(4)]  # not in the ledger: "102" gets one single-part refusal


class Scrape:
    """One scrape's samples, looked up by name and labels (a sample not shown reads as 0)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.types = {family.name: family.type for family in text_string_to_metric_families(text)}
        self._samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def __call__(self, name: str, **labels: str) -> float:
        return self._samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(gateway: Gateway) -> Scrape:
    url = f"http://127.0.0.1:{gateway.http.port}/metrics"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200
        return Scrape(await response.text())


async def scrape_until(gateway: Gateway, ready: Callable[[Scrape], bool], timeout: float = 5.0) -> Scrape:
    async with asyncio.timeout(timeout):
        while not ready(now := await scrape(gateway)):
            await asyncio.sleep(0.02)
    return now


def delta(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after(name, **labels) - before(name, **labels)


async def test_counters_move_when_mos_flow(sim: SmscSimulator, gateway: Gateway) -> None:
    before = await scrape(gateway)
    assert before("gateway_bound") == 1
    await asyncio.gather(*(sim.send_mo(s, "10001", "102") for s in STRANGERS[:3]))
    await sim.wait_for_mts(3)
    after = await scrape_until(gateway, lambda s: delta(before, s, "gateway_mts_acknowledged_total") >= 3)
    moved = {
        name: delta(before, after, f"gateway_{name}")
        for name in [
            "mos_received_total",
            "mos_answered_total",
            "mos_deduplicated_total",
            "mos_rate_limited_total",
            "mts_submitted_total",
            "mts_acknowledged_total",
            "throttled_total",
            "reconnects_total",
            "answer_latency_seconds_count",
        ]
    }
    assert moved == {
        "mos_received_total": 3,
        "mos_answered_total": 3,
        "mos_deduplicated_total": 0,
        "mos_rate_limited_total": 0,
        "mts_submitted_total": 3,
        "mts_acknowledged_total": 3,
        "throttled_total": 0,
        "reconnects_total": 0,
        "answer_latency_seconds_count": 3,
    }
    assert after("gateway_answer_latency_seconds_sum") > 0
    assert delta(before, after, "gateway_ledger_commit_seconds_count") >= 1  # each MO stored with its answer
    assert (after("gateway_bound"), after("gateway_window_in_flight"), after("gateway_outbox_depth")) == (1, 0, 0)


async def test_the_content_is_prometheus_text_with_every_metric_typed(gateway: Gateway) -> None:
    url = f"http://127.0.0.1:{gateway.http.port}/metrics"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        now = Scrape(await response.text())
    assert now.types == {
        "gateway_mos_received": "counter",
        "gateway_mos_answered": "counter",
        "gateway_mos_deduplicated": "counter",
        "gateway_mos_taken_over": "counter",
        "gateway_mts_taken_over": "counter",
        "gateway_mos_turn_waited": "counter",
        "gateway_mos_rate_limited": "counter",
        "gateway_mts_submitted": "counter",
        "gateway_mts_acknowledged": "counter",
        "gateway_mts_failed": "counter",
        "gateway_receipts": "counter",
        "gateway_throttled": "counter",
        "gateway_mts_expired": "counter",
        "gateway_mts_given_up": "counter",
        "gateway_reconnects": "counter",
        "gateway_admin_unauthorized": "counter",
        "gateway_pushes_sent": "counter",
        "gateway_pushes_dropped": "counter",
        "gateway_ussd_sessions_started": "counter",
        "gateway_ussd_sessions_expired": "counter",
        "gateway_ussd_sessions_refused": "counter",
        "gateway_ussd_sessions_open": "gauge",
        "gateway_window_in_flight": "gauge",
        "gateway_bound": "gauge",
        "gateway_outbox_depth": "gauge",
        "gateway_dialogs_pending": "gauge",
        "gateway_answer_latency_seconds": "histogram",
        "gateway_ledger_commit_seconds": "histogram",
        # prometheus-client's own: when each histogram started (a gauge in the text format)
        "gateway_answer_latency_seconds_created": "gauge",
        "gateway_ledger_commit_seconds_created": "gauge",
    }


async def test_receipts_are_counted_by_stat(sim: SmscSimulator, gateway: Gateway) -> None:
    await sim.send_mo(STRANGERS[0], "10001", "102")
    [mt] = await sim.wait_for_mts(1)
    assert await sim.send_receipt(mt.message_ids[0], stat="DELIVRD") == Status.ESME_ROK
    assert await sim.send_receipt(mt.message_ids[0], stat="UNDELIV", use_tlv=False) == Status.ESME_ROK
    now = await scrape(gateway)
    assert now("gateway_receipts_total", stat="DELIVRD") == 1
    assert now("gateway_receipts_total", stat="UNDELIV") == 1
    assert now("gateway_mos_received_total") == 1  # a receipt is not an MO


async def test_throttling_is_counted_and_every_resend_is_a_submit(sim: SmscSimulator, gateway: Gateway) -> None:
    sim.faults.throttle_every = 2
    await asyncio.gather(*(sim.send_mo(s, "10001", "102") for s in STRANGERS))
    await sim.wait_for_mts(4, timeout=10)
    now = await scrape_until(gateway, lambda s: s("gateway_mts_acknowledged_total") >= 4)
    assert now("gateway_mts_acknowledged_total") == 4
    assert now("gateway_throttled_total") >= 1
    assert now("gateway_mts_submitted_total") == now("gateway_mts_acknowledged_total") + now("gateway_throttled_total")
    assert now("gateway_mts_failed_total", status="ESME_RTHROTTLED") == 0


async def test_a_permanent_refusal_is_counted_by_its_status(sim: SmscSimulator, gateway: Gateway) -> None:
    sim.faults.reject_status = Status.ESME_RINVDSTADR
    await sim.send_mo(STRANGERS[0], "10001", "102")
    now = await scrape_until(gateway, lambda s: s("gateway_mts_failed_total", status="ESME_RINVDSTADR") >= 1)
    assert now("gateway_mts_failed_total", status="ESME_RINVDSTADR") == 1
    assert (now("gateway_mts_submitted_total"), now("gateway_mts_acknowledged_total")) == (1, 0)
    assert now("gateway_mos_answered_total") == 1  # its answer was committed; the SMSC refused to carry it
    assert now("gateway_outbox_depth") == 0


def refusing_submits(monkeypatch: pytest.MonkeyPatch, statuses: list[int]) -> None:
    """The simulator answers the submit_sm it gets with these statuses, one each, in turn."""
    pending = iter(statuses)

    def refuse(connection: smsc_core.SmscConnection, pdu: Pdu) -> list[smsc_core.Output]:
        resp = Pdu(
            command_id=CommandId.submit_sm_resp, sequence_number=pdu.sequence_number, command_status=next(pending)
        )
        return [smsc_core.Send(data=encode_pdu(resp))]

    monkeypatch.setitem(smsc_core._HANDLERS, CommandId.submit_sm, refuse)


async def test_statuses_smpp_does_not_name_are_one_label(
    sim: SmscSimulator, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 refusals with 300 statuses SMPP 3.4 does not name (0x400 up: vendor-specific) are one ``other``
    series; the named ones keep theirs. (Each used to be a series of its own, named by its hex value.)"""
    unnamed = [0x400 + n for n in range(300)]
    refusing_submits(monkeypatch, [Status.ESME_RINVDSTADR, *unnamed, Status.ESME_RSYSERR, Status.ESME_RINVDSTADR])
    senders = [f"1390001{n:04d}" for n in range(303)]
    for batch in range(0, len(senders), 50):
        await asyncio.gather(*(sim.send_mo(s, "10001", "102") for s in senders[batch : batch + 50]))
    await scrape_until(gateway, lambda s: gateway.outbox.failed == 303, timeout=20)
    now = await scrape(gateway)  # taken after the last failure (the one above may have been taken before it)
    failed = {
        dict(sample.labels)["status"]: sample.value
        for family in text_string_to_metric_families(now.text)
        if family.name == "gateway_mts_failed"
        for sample in family.samples
        if sample.name == "gateway_mts_failed_total"
    }
    assert failed == {"ESME_RINVDSTADR": 2, "ESME_RSYSERR": 1, "other": 300}
    assert (gateway.link.refused, gateway.link.refused_unnamed) == (
        {Status.ESME_RINVDSTADR: 2, Status.ESME_RSYSERR: 1},
        300,
    )


async def test_receipt_stats_smpp_does_not_name_are_one_label(sim: SmscSimulator, gateway: Gateway) -> None:
    await sim.send_mo(STRANGERS[0], "10001", "102")
    [mt] = await sim.wait_for_mts(1)
    text = f"id:{mt.message_ids[0]} sub:001 dlvrd:000 submit date:2611231013 done date:2611231014 stat:{{}} err:000"
    for stat in ["DELIVRD", *(f"X{n:05d}" for n in range(40)), "expired"]:  # an SMSC may put any word there
        body = ShortMessage(
            source_addr=STRANGERS[0],
            destination_addr="10001",
            esm_class=EsmClass.DELIVERY_RECEIPT,
            short_message=text.format(stat).encode("ascii"),
        )
        assert await sim.send_deliver(body) == Status.ESME_ROK
    now = await scrape(gateway)
    stats = {
        dict(sample.labels)["stat"]: sample.value
        for family in text_string_to_metric_families(now.text)
        if family.name == "gateway_receipts"
        for sample in family.samples
        if sample.name == "gateway_receipts_total"
    }
    assert stats == {"DELIVRD": 1, "EXPIRED": 1, "other": 40}


async def test_a_drop_is_a_reconnect_and_bound_goes_0_then_1(sim: SmscSimulator, start_gateway: StartGateway) -> None:
    gateway = await start_gateway(smpp__reconnect_min="0.5", smpp__reconnect_max="1")  # 0.25 s or more apart
    before = await scrape(gateway)
    assert before("gateway_bound") == 1
    await sim.drop_connections()
    down = await scrape_until(gateway, lambda s: delta(before, s, "gateway_reconnects_total") >= 1)
    assert down("gateway_bound") == 0
    await gateway.link.wait_bound(5.0)
    up = await scrape(gateway)
    assert (up("gateway_bound"), delta(before, up, "gateway_reconnects_total")) == (1, 1)


async def test_a_dialog_waiting_for_its_answer_is_pending(
    sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path
) -> None:
    msisdn = "13800138000"
    db = await open_database(str(tmp_path / "gateway.db"))
    subscriber = NewSubscriber(
        msisdn=msisdn, name="李明", brand="神州行", plan="SZX", created_on=date(2024, 1, 1), cash=5890
    )
    await add_subscribers(db, [subscriber])
    await db.close()
    gateway = await start_gateway()
    assert (await scrape(gateway))("gateway_dialogs_pending") == 0
    await sim.send_mo(msisdn, "10086", "KTCL")
    await sim.wait_for_mts(1)
    await scrape_until(gateway, lambda s: s("gateway_dialogs_pending") == 1)
    await sim.send_mo(msisdn, "10086", "N")  # anything but yes cancels
    await sim.wait_for_mts(2)
    await scrape_until(gateway, lambda s: s("gateway_dialogs_pending") == 0)


async def test_two_gateways_in_one_process_count_apart(
    sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path
) -> None:
    first = await start_gateway()
    second = await start_gateway(ledger__path=str(tmp_path / "second.db"))
    await sim.wait_bound(count=2)
    await asyncio.gather(*(sim.send_mo(s, "10001", "102") for s in STRANGERS))
    await sim.wait_for_mts(4, timeout=10)
    scrapes = [await scrape(g) for g in (first, second)]
    received = [s("gateway_mos_received_total") for s in scrapes]
    assert sum(received) == 4
    assert received == [first.inbox.received, second.inbox.received]
    assert [s("gateway_bound") for s in scrapes] == [1, 1]


def test_an_answer_that_fails_is_neither_counted_nor_timed() -> None:
    metrics = Metrics()
    mo = InboundMessage(id=1, source_addr=STRANGERS[0], destination_addr="10001", text="102", received_at=0.0)
    metrics.mo_stored(mo)
    metrics.answering(mo)(False)  # the commit failed
    metrics.answering(mo)(True)  # answered after all, e.g. after a restart: counted, no start to time from
    assert metrics.answered == 1
    assert metrics.registry.get_sample_value("gateway_answer_latency_seconds_count") == 0


async def test_refused_admin_calls_are_counted(start_gateway: StartGateway) -> None:
    gateway = await start_gateway(http__tokens="a-token-of-sixteen-chars")
    url = f"http://127.0.0.1:{gateway.http.port}"
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"Authorization": "Bearer not-the-right-token-at-all"}):
            async with http.get(f"{url}/api/v1/subscribers/13800138000", headers=headers) as response:
                assert response.status == 401
        async with http.get(f"{url}/metrics") as response:
            text = await response.text()
    assert "gateway_admin_unauthorized_total 2.0" in text
