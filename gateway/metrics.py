"""``GET /metrics`` in the Prometheus text format.

Most numbers are already kept by the stage they describe (the inbox counts what it received, the link
its throttles and reconnects, the outbox its depth); they are read when Prometheus scrapes, so no
stage knows about Prometheus. Only two things are observed as they happen: how long an MO waited
from being stored to its answer being committed, and how long each group commit of the ledger took.

Every :class:`Metrics` has a registry of its own (never the process-wide default), so several
gateways can run in one process, as they do in the tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from gateway.dialog.engine import Dialogs
from gateway.inbox import Inbox
from gateway.instances import Instance
from gateway.link import Link
from gateway.outbox import Outbox
from gateway.pushes.sender import Pusher
from gateway.responder import Responder
from gateway.smpp.constants import OTHER_STATUS, status_label
from gateway.smpp.receipt import STATES
from gateway.types import InboundMessage
from gateway.ussd.service import UssdSessions

ANSWER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
OTHER_STAT = "other"  # a receipt state SMPP 3.4 does not name (kept out of the labels: they stay few)


@dataclass(frozen=True, slots=True, kw_only=True)
class Watched:
    """The running stages whose own counts are read at scrape time."""

    link: Link
    inbox: Inbox
    responder: Responder
    outbox: Outbox
    dialogs: Dialogs
    pusher: Pusher
    ussd: UssdSessions
    unauthorized: Callable[[], int]  # admin calls refused with 401
    instance: Instance


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.answer_latency = Histogram(
            "gateway_answer_latency_seconds",
            "Time from an MO being stored to its answer being committed.",
            buckets=ANSWER_BUCKETS,
            registry=self.registry,
        )
        self.ledger_commit = Histogram(
            "gateway_ledger_commit_seconds",
            "Duration of one group commit of the ledger.",
            buckets=COMMIT_BUCKETS,
            registry=self.registry,
        )
        self.answered = 0
        self._stored_at: dict[int, float] = {}  # MO id → when it was stored (monotonic)
        self._watched: Watched | None = None

    def watch(self, watched: Watched) -> None:
        """Start reporting the counts these stages keep."""
        if self._watched is None:
            self.registry.register(self)
        self._watched = watched

    # --- what the pipeline tells -----------------------------------------------------------------

    def mo_stored(self, mo: InboundMessage) -> None:
        self._stored_at[mo.id] = time.monotonic()

    def answering(self, mo: InboundMessage) -> Callable[[bool], None]:
        """Told when one MO's answering ends: counted, and its latency observed, only if it was answered."""
        stored_at = self._stored_at.pop(mo.id, None)

        def ended(answered: bool) -> None:
            if not answered:
                return
            self.answered += 1
            if stored_at is not None:  # an MO stored before a restart has no start to measure from
                self.answer_latency.observe(time.monotonic() - stored_at)

        return ended

    def ledger_committed(self, seconds: float) -> None:
        self.ledger_commit.observe(seconds)

    # --- HTTP ------------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/metrics", self.scrape)]

    async def scrape(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    # --- Collector -------------------------------------------------------------------------------

    def collect(self) -> Iterable[Metric]:
        w = self._watched
        if w is None:
            return
        yield _counter(
            "mos_received", "MOs received (deliver_sm that are not receipts, each part counted).", w.inbox.received
        )
        yield _counter("mos_answered", "MOs whose answer (or deliberate silence) was committed.", self.answered)
        yield _counter(
            "mos_deduplicated",
            "MOs delivered again after a lost acknowledgement, not handled twice.",
            w.inbox.deduplicated + w.responder.deduplicated + w.instance.redelivered,
        )
        yield _counter(
            "mos_taken_over",
            "Unanswered MOs taken over from an instance gone (docs/scale-out.md).",
            w.instance.taken_mos,
        )
        yield _counter(
            "mts_taken_over",
            "Unsent MTs taken over from an instance gone: each may have been sent once already (its response lost).",
            w.instance.taken_mts,
        )
        yield _counter(
            "mos_turn_waited",
            "Times an MO's unit gave way because another instance had its sender in hand.",
            w.responder.waited,
        )
        yield _counter(
            "mos_rate_limited", "MOs over a subscriber's rate limit.", w.responder.rate_limited + w.inbox.silenced
        )
        yield _counter("mts_submitted", "submit_sm PDUs written, resends included.", w.link.submitted)
        yield _counter("mts_acknowledged", "submit_sm PDUs accepted by the SMSC (ESME_ROK).", w.link.acknowledged)
        failed = CounterMetricFamily(
            "gateway_mts_failed",
            "submit_sm PDUs refused for good, by command_status (other: one SMPP 3.4 does not name).",
            labels=["status"],
        )
        statuses = [(status_label(status), count) for status, count in w.link.refused.items()]
        for label, count in _folded([*statuses, (OTHER_STATUS, w.link.refused_unnamed)]):
            failed.add_metric([label], count)
        yield failed
        receipts = CounterMetricFamily(
            "gateway_receipts",
            "Delivery receipts received, by stat (other: one SMPP 3.4 does not name).",
            labels=["stat"],
        )
        stats = [(stat if stat in STATES else OTHER_STAT, count) for stat, count in w.inbox.receipts.items()]
        for label, count in _folded(stats):
            receipts.add_metric([label], count)
        yield receipts
        yield _counter("throttled", "submit_sm answered with a throttling status, and resent.", w.link.throttled)
        yield _counter(
            "mts_expired",
            "submit_sm PDUs unanswered within smpp.response_timeout while the SMSC was there (sent again).",
            w.link.expired,
        )
        yield _counter(
            "mts_given_up",
            "Parts failed (ESME_RSUBMITFAIL) after smpp.max_resends resends went unanswered too.",
            w.link.given_up,
        )
        yield _counter("reconnects", "SMPP connections lost or refused, and tried again.", w.link.reconnects)
        yield _gauge("window_in_flight", "submit_sm PDUs awaiting their submit_sm_resp.", w.link.in_flight)
        yield _gauge("bound", "1 while every wanted SMPP bind is up, else 0.", int(w.link.bound))
        yield _gauge("outbox_depth", "MTs handed to the link and not yet settled.", w.outbox.depth)
        yield _gauge("dialogs_pending", "Dialogs waiting for the subscriber's next MO.", w.dialogs.pending)
        yield _counter("pushes_sent", "Reminders put in the outbox after their recheck.", w.pusher.sent)
        yield _counter(
            "pushes_dropped", "Reminders dropped at their recheck (reason gone, opted out).", w.pusher.dropped
        )
        yield _counter("ussd_sessions_started", "USSD sessions begun (SMPP and HTTP).", w.ussd.started)
        yield _counter("ussd_sessions_expired", "USSD sessions ended by the time-out.", w.ussd.expired)
        yield _counter(
            "ussd_sessions_refused", "USSD dials refused: ussd.max_sessions sessions were open.", w.ussd.refused
        )
        yield _gauge("ussd_sessions_open", "USSD sessions waiting for the subscriber's input.", w.ussd.open_sessions)
        yield _counter("admin_unauthorized", "Admin API calls refused with 401 (no or wrong token).", w.unauthorized())


def _counter(name: str, documentation: str, value: int) -> CounterMetricFamily:
    return CounterMetricFamily(f"gateway_{name}", documentation, value=value)


def _gauge(name: str, documentation: str, value: int) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"gateway_{name}", documentation, value=value)


def _folded(counts: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """Counts under the same label added up, in label order; a label with nothing counted is left out."""
    folded: dict[str, int] = {}
    for label, count in counts:
        folded[label] = folded.get(label, 0) + count
    return sorted((label, count) for label, count in folded.items() if count)
