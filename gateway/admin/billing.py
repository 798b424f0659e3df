"""The admin API's usage feed, credit control and campaigns (docs/admin-api.md).

- ``POST /api/v1/usage``: a batch of up to 10,000 usage records, rated at once.
- ``GET /api/v1/usage/rejects``: the error list (records refused in whole or in part, with the reason).
- ``POST /api/v1/subscribers/{msisdn}/protective-restore``: 紧急开机 for a suspended subscriber.
- ``GET /api/v1/subscribers/{msisdn}/status-history``: every credit-control transition with its reason.
- ``POST /api/v1/pushes`` / ``GET /api/v1/pushes/{id}``: start a reminder campaign, follow its progress.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from gateway.admin.validate import Body, Field, choice, instant, msisdn, pattern, query_integer, refuse, shown
from gateway.clock import Clock
from gateway.credit.control import CreditControl
from gateway.db import admin_reads
from gateway.db.store import Store
from gateway.db.unit import Tx
from gateway.errors import ProtectRefused, RequestRefused
from gateway.http import json_response
from gateway.ledger.calendar import Calendar
from gateway.ledger.rating import CATEGORIES
from gateway.pushes.campaigns import Campaigns, UnknownKind
from gateway.pushes.sweeps import SWEEPABLE
from gateway.usecases.rate_usage import BatchResult, UsageRating, UsageRecord

MAX_RECORDS = 10_000
MAX_QUANTITY = 1 << 40
MAX_DURATION_GIVEN = 366 * 86400
REJECTS_SHOWN = 1000

RECORD_ID_PATTERN = "^[A-Za-z0-9._:-]{1,64}$"
CAMPAIGN_ID = pattern("campaign", "^[0-9]{1,18}$", rule="digits", description="a campaign's id")


def _count(name: str, *, maximum: int, description: str) -> Field:
    def check(value: object) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be a whole number (a JSON integer), got {shown(value)}"
        if not 0 <= value <= maximum:
            return f"must be between 0 and {maximum}, got {value}"
        return None

    return Field(
        name=name, check=check, schema={"type": "integer", "minimum": 0, "maximum": maximum, "description": description}
    )


USAGE_RECORD = Body(
    "UsageRecord",
    (
        pattern(
            "id",
            RECORD_ID_PATTERN,
            rule="1 to 64 characters: letters, digits, . _ : -",
            description="the feed's id: rated once",
        ),
        msisdn(),
        choice("category", CATEGORIES, description="voice (seconds), sms / mms (messages), data (KB)"),
        _count("quantity", maximum=MAX_QUANTITY, description="seconds, messages or KB"),
        instant("start", description="when the usage began, ISO 8601 with offset"),
        _count(
            "duration", maximum=MAX_DURATION_GIVEN, description="seconds; more than 3 days is refused to the error list"
        ),
    ),
)


def _records(value: object) -> str | None:
    if not isinstance(value, list) or not value:
        return f"must be a list of 1 to {MAX_RECORDS} usage records, got {shown(value)}"
    if len(value) > MAX_RECORDS:
        return f"must hold at most {MAX_RECORDS} records, got {len(value)}"
    for index, item in enumerate(value):
        try:
            USAGE_RECORD.parse(item)
        except RequestRefused as refused:
            return f"[{index}] {refused}"
    return None


USAGE_BATCH = Body(
    "UsageBatch",
    (
        Field(
            name="records",
            check=_records,
            schema={
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_RECORDS,
                "items": {"$ref": "#/components/schemas/UsageRecord"},
            },
        ),
    ),
)

NEW_CAMPAIGN = Body(
    "NewCampaign", (choice("kind", SWEEPABLE, description="the reminder to raise for everyone it applies to"),)
)


def usage_records(body: dict[str, Any]) -> list[UsageRecord]:
    return [
        UsageRecord(
            id=r["id"],
            msisdn=r["msisdn"],
            category=r["category"],
            quantity=r["quantity"],
            start=datetime.fromisoformat(r["start"]).timestamp(),
            duration=r["duration"],
        )
        for r in body["records"]
    ]


def batch_json(result: BatchResult) -> dict[str, Any]:
    return {
        "rated": [
            {
                "id": r.id,
                "msisdn": r.msisdn,
                "granted": r.granted,
                "charged_fen": r.charged,
                "refused": r.refused,
                "reason": r.reason,
            }
            for r in result.rated
        ],
        "charged_fen": sum(r.charged for r in result.rated),
        "duplicates": result.duplicates,
        "rejected": [{"id": r.id, "msisdn": r.msisdn, "reason": r.reason, "detail": r.detail} for r in result.rejected],
        "suspended": sorted(set(result.suspended)),
    }


class BillingApi:
    def __init__(
        self,
        *,
        store: Store,
        rating: UsageRating,
        credit: CreditControl,
        campaigns: Campaigns,
        clock: Clock,
        calendar: Calendar,
    ) -> None:
        self._store = store
        self._rating = rating
        self._credit = credit
        self._campaigns = campaigns
        self._clock = clock
        self._calendar = calendar

    def _at(self, instant: float | None) -> str | None:
        return self._calendar.local(instant).isoformat() if instant is not None else None

    async def rate_usage(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        result = await self._rating.rate(self._store, usage_records(body), now=self._clock.now())
        return json_response(batch_json(result))

    async def list_rejects(self, request: web.Request) -> web.StreamResponse:
        number = request.query.get("msisdn")
        if number is not None:
            refuse(msisdn(), number)
        after = query_integer(request.query, "after", default=0)
        rejects = [
            {
                "seq": r.id,
                "id": r.record_id,
                "msisdn": r.msisdn,
                "category": r.category,
                "quantity": r.quantity,
                "reason": r.reason,
                "detail": r.detail,
                "rejected_at": self._at(r.rejected_at),
            }
            for r in await admin_reads.usage_rejects(self._store, after=after, msisdn=number, limit=REJECTS_SHOWN)
        ]
        return json_response({"rejects": rejects, "next_after": rejects[-1]["seq"] if rejects else after})

    async def protective_restore(self, number: str) -> web.StreamResponse:
        now = self._clock.now()

        async def work(tx: Tx) -> Any:
            return await self._credit.protect(tx, number, now=now)

        try:
            moved = await self._store.transact(work)
        except ProtectRefused as refused:
            days = self._credit.config.protect_interval_days
            messages = {
                "not_suspended": f"{number} is not suspended: nothing to restore",
                "already_protected": f"{number} is under a protective restore already",
                "by_operator": f"{number} was suspended by the operator: only the operator lifts that",
                "voluntary": f"{number} is suspended at the subscriber's request (报停): 321 restores it",
                "too_soon": f"{number} had a protective restore in the last {days} days",
                "terminated": f"{number} is terminated (销户)",
            }
            raise RequestRefused(409, "conflict", messages[refused.reason]) from None
        return json_response(
            {
                "msisdn": number,
                "state": moved.target,
                "until": self._at(moved.restore_until),
                "allowance_fen": moved.allowance,
                "floor_fen": moved.floor,
            }
        )

    async def status_history(self, number: str) -> web.StreamResponse:
        changes = [
            {"id": c.id, "from": c.source, "to": c.target, "reason": c.reason, "at": self._at(c.changed_at)}
            for c in await admin_reads.status_changes(self._store, number)
        ]
        return json_response({"msisdn": number, "changes": changes})

    async def start_campaign(self, body: dict[str, Any]) -> web.StreamResponse:
        try:
            campaign = await self._campaigns.start(body["kind"])
        except UnknownKind:  # pragma: no cover - the body's check names the kinds
            raise RequestRefused(400, "bad_field", "kind: unknown", field="kind") from None
        progress = await self._campaigns.progress(campaign)
        assert progress is not None
        answer = json_response(progress.as_json(), status=202)
        answer.headers["Location"] = f"/api/v1/pushes/{campaign}"
        return answer

    async def campaign_progress(self, request: web.Request) -> web.StreamResponse:
        raw = request.match_info["campaign"]
        progress = await self._campaigns.progress(int(raw)) if CAMPAIGN_ID.check(raw) is None else None
        if progress is None:
            raise RequestRefused(404, "not_found", f"no campaign {raw}")
        return json_response(progress.as_json())
