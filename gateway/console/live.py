"""The operator's live console (``/console``): the figures of ``/metrics`` as JSON every second or two, with the
link's binds, the push campaigns' progress and the last errors. Behind the admin token; no phone number in it
shows unmasked (the errors are masked as the logs are)."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.samples import Sample

from gateway.admin.auth import TokenAuth
from gateway.console.pages import static_file
from gateway.db import campaigns
from gateway.db.unit import Reads
from gateway.http import json_error, json_response
from gateway.logs import mask

ERRORS_KEPT = 20
CAMPAIGNS_SHOWN = 5
QUANTILES = (0.5, 0.9, 0.99)


class RecentErrors(logging.Handler):
    """The last warnings and errors of the gateway's loggers, masked."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.kept: deque[dict[str, str]] = deque(maxlen=ERRORS_KEPT)

    def emit(self, record: logging.LogRecord) -> None:
        self.kept.appendleft(
            {"level": record.levelname.lower(), "logger": record.name, "msg": mask(record.getMessage())}
        )


class Console:
    def __init__(
        self,
        *,
        registry: CollectorRegistry,
        auth: TokenAuth,
        reads: Reads,
        binds: Callable[[], list[tuple[str, bool]]],
    ) -> None:
        self._registry = registry
        self._auth = auth
        self._reads = reads
        self._binds = binds
        self.errors = RecentErrors()
        logging.getLogger("gateway").addHandler(self.errors)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/console", self.page),
            web.get("/console/api/live", self.live),
        ]

    async def close(self) -> None:
        logging.getLogger("gateway").removeHandler(self.errors)

    async def page(self, request: web.Request) -> web.Response:
        return static_file("console.html")

    async def live(self, request: web.Request) -> web.Response:
        if not self._auth.allows(request.headers.get("Authorization")):
            return json_error(401, "unauthorized", "send the admin token: Authorization: Bearer <token>")
        every = [sample for metric in self._registry.collect() for sample in metric.samples]
        samples: dict[str, float] = {}
        for sample in every:  # by name, labelled ones summed
            samples[sample.name] = samples.get(sample.name, 0) + sample.value
        shown = []
        for number, campaign in await campaigns.latest(self._reads, CAMPAIGNS_SHOWN):
            tally = await campaigns.tally(self._reads, number)
            settled = tally.sent + tally.dropped + tally.failed + tally.delivered
            shown.append(
                {
                    "id": number,
                    "kind": campaign.kind,
                    "selected": tally.selected,
                    "settled": min(settled, tally.selected),
                    "finished": campaign.finished_at is not None and tally.pending + tally.queued == 0,
                }
            )
        return json_response(
            {
                "binds": [{"mode": mode, "bound": bound} for mode, bound in self._binds()],
                "counters": {
                    name: samples.get(f"gateway_{name}_total", 0)
                    for name in ("mos_received", "mos_answered", "mts_submitted", "mts_acknowledged", "throttled")
                },
                "gauges": {
                    name: samples.get(f"gateway_{name}", 0)
                    for name in ("bound", "window_in_flight", "outbox_depth", "dialogs_pending", "ussd_sessions_open")
                },
                "latency_ms": _quantiles(every, "gateway_answer_latency_seconds"),
                "campaigns": shown,
                "errors": list(self.errors.kept),
            }
        )


def _quantiles(samples: list[Sample], name: str) -> dict[str, float | None]:
    """p50, p90, p99 of a histogram, in ms (seconds, not money: floats), as the upper bound of the bucket each
    falls in (None: no samples, or beyond the last bound)."""
    buckets = sorted((float(s.labels["le"]), s.value) for s in samples if s.name == f"{name}_bucket")
    total = buckets[-1][1] if buckets else 0
    shown: dict[str, float | None] = {}
    for q in QUANTILES:
        bound = next((le for le, count in buckets if total and count >= q * total), None)
        shown[f"p{round(q * 100)}"] = None if bound is None or bound == float("inf") else round(bound * 1000, 1)
    return shown
