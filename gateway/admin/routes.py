"""The admin API under ``/api/v1/``: its routes, listed once in :meth:`AdminApi.route_list`, and their handlers.

A handler checks what it is sent (:mod:`gateway.admin.validate`), makes its change as one piece of work
inside a group commit (:mod:`gateway.admin.changes`), and answers with a view (:mod:`gateway.admin.views`).
It reads through the ledger's read connection and :class:`AdminReads`, which see only committed rows.
Failures become JSON errors in :func:`gateway.admin.answers.errors_as_json`; tokens are checked by
:class:`gateway.admin.auth.TokenAuth` before any handler runs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from gateway import __version__
from gateway.admin import changes
from gateway.admin.answers import PREFIX, errors_as_json
from gateway.admin.auth import TokenAuth
from gateway.admin.billing import CAMPAIGN_ID, NEW_CAMPAIGN, USAGE_BATCH, USAGE_RECORD, BillingApi
from gateway.admin.openapi import Answer, Route, document
from gateway.admin.reads import AdminReads
from gateway.admin.validate import REFERENCE_PATTERN, Body, choice, fen, msisdn, parse_json, pattern, refuse, text
from gateway.admin.views import (
    BILLING_SCHEMAS,
    SCHEMAS,
    messages_json,
    payment_json,
    queued_json,
    subscriber_json,
    subscriptions_json,
)
from gateway.clock import Clock
from gateway.credit.control import CreditControl
from gateway.db.admin_changes import PaymentOrder
from gateway.db.store import Store
from gateway.errors import RequestRefused
from gateway.http import json_response
from gateway.ledger.calendar import Calendar
from gateway.ledger.importer import BRANDS, STATUSES, VIPS
from gateway.ledger.products import Products
from gateway.ledger.reads import Ledger
from gateway.model.ledger import NewSubscriber
from gateway.outbox import Outbox
from gateway.types import Fen, Reply

log = logging.getLogger("gateway.admin")

PAYMENT_CHANNELS = ("营业厅", "充值卡", "网上营业厅", "微信", "支付宝", "银行代扣")
"""Where a payment was made; shown to the subscriber in the payment list (110), so only these."""

MAX_FEN = 10_000_000
"""The largest payment or opening balance taken in one call: 100,000元."""

MAX_MESSAGE = 500
"""Characters of an ad-hoc MT at most (about 8 parts in UCS2)."""

MSISDN = msisdn()

_BAD = Answer("a field is missing, unknown or not valid (the error names it), or the body is not a JSON object")
_BAD_NUMBER = Answer("the number in the path is not 11 digits starting with 1")
_UNKNOWN = Answer("the number is not a subscriber")


class AdminApi:
    def __init__(
        self,
        *,
        store: Store,
        ledger: Ledger,
        reads: AdminReads,
        outbox: Outbox,
        clock: Clock,
        calendar: Calendar,
        products: Products,
        service_numbers: Sequence[str],
        tokens: Sequence[str],
        credit: CreditControl,
        billing: BillingApi,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._reads = reads
        self._outbox = outbox
        self._clock = clock
        self._calendar = calendar
        self._products = products
        self._credit = credit
        self._billing = billing
        self.auth = TokenAuth(tokens)
        self.new_subscriber = Body(
            "NewSubscriber",
            (
                MSISDN,
                text("name", max_length=32, description="the subscriber's name, one line"),
                choice("plan", list(products.plans), default=products.default_plan, description="a plan code"),
                choice("brand", BRANDS, required=False, description="the plan's brand (default: taken from the plan)"),
                choice("vip", VIPS, default="none", description="VIP level"),
                fen("balance_fen", minimum=0, maximum=MAX_FEN, default=0, description="opening cash book, fen"),
            ),
        )
        self.status_change = Body("StatusChange", (choice("status", STATUSES, description="terminated is final"),))
        self.new_payment = Body(
            "NewPayment",
            (
                pattern(
                    "id",
                    REFERENCE_PATTERN,
                    rule="1 to 64 characters: letters, digits, . _ : -",
                    description="the caller's own id of the payment: the same id again pays nothing",
                ),
                MSISDN,
                fen("amount_fen", minimum=1, maximum=MAX_FEN, description="the amount in fen, a positive integer"),
                choice("channel", PAYMENT_CHANNELS, description="where it was paid (shown to the subscriber)"),
            ),
        )
        self.new_message = Body(
            "NewMessage",
            (
                MSISDN,
                text("text", max_length=MAX_MESSAGE, one_line=False, description="the message; line breaks allowed"),
                choice("service_number", service_numbers, description="the number it is sent from"),
            ),
        )
        self.route_list = self._route_list()
        self.openapi = document(
            self.route_list,
            path_fields={"msisdn": MSISDN, "campaign": CAMPAIGN_ID},
            schemas={
                **SCHEMAS,
                **BILLING_SCHEMAS,
                "UsageRecord": USAGE_RECORD.schema(),
                "OpenApiDocument": {"type": "object", "description": "this document"},
            },
            version=__version__,
        )

    async def close(self) -> None:
        """Close the read connection it was given."""
        await self._reads.close()

    def routes(self) -> list[web.RouteDef]:
        return [route.route_def() for route in self.route_list]

    def middlewares(self) -> list[Any]:
        """Tokens first (outermost), then errors as JSON; both leave paths outside /api/v1/ alone."""
        return [self.auth.middleware(), errors_as_json]

    def _route_list(self) -> tuple[Route, ...]:
        subscriber = f"{PREFIX}subscribers/{{msisdn}}"
        return (
            Route(
                method="POST",
                path=f"{PREFIX}subscribers",
                handler=self.create_subscriber,
                operation="createSubscriber",
                summary="Add a subscriber with an account",
                body=self.new_subscriber,
                answers={201: Answer("added", "Subscriber"), 400: _BAD, 409: Answer("already a subscriber")},
            ),
            Route(
                method="GET",
                path=subscriber,
                handler=self.read_subscriber,
                operation="readSubscriber",
                summary="A subscriber and their account (money in fen)",
                answers={200: Answer("the subscriber", "Subscriber"), 400: _BAD_NUMBER, 404: _UNKNOWN},
            ),
            Route(
                method="PATCH",
                path=subscriber,
                handler=self.change_status,
                operation="changeSubscriberStatus",
                summary="Set a subscriber's status (active, suspended, terminated)",
                body=self.status_change,
                answers={
                    200: Answer("the subscriber as changed", "Subscriber"),
                    400: _BAD,
                    404: _UNKNOWN,
                    409: Answer("the subscriber is terminated: that is final"),
                },
            ),
            Route(
                method="GET",
                path=f"{subscriber}/subscriptions",
                handler=self.list_subscriptions,
                operation="listSubscriptions",
                summary="Every package the subscriber has or had, newest first",
                answers={200: Answer("the subscriptions", "Subscriptions"), 400: _BAD_NUMBER, 404: _UNKNOWN},
            ),
            Route(
                method="GET",
                path=f"{subscriber}/messages",
                handler=self.list_messages,
                operation="listMessages",
                summary="The newest MTs to the subscriber and MOs from them",
                answers={200: Answer("the messages", "Messages"), 400: _BAD_NUMBER, 404: _UNKNOWN},
            ),
            Route(
                method="POST",
                path=f"{PREFIX}payments",
                handler=self.pay,
                operation="pay",
                summary="Pay into a subscriber's cash book, once per caller's id",
                body=self.new_payment,
                answers={
                    200: Answer("this id was paid before: the first payment, and nothing paid now", "Payment"),
                    201: Answer("paid", "Payment"),
                    400: _BAD,
                    404: _UNKNOWN,
                    409: Answer("the id was used for a different payment, or the subscriber is terminated"),
                },
            ),
            Route(
                method="POST",
                path=f"{PREFIX}messages",
                handler=self.send_message,
                operation="sendMessage",
                summary="Send an MT to a subscriber (through the outbox)",
                body=self.new_message,
                answers={
                    202: Answer("queued in the outbox", "QueuedMessage"),
                    400: _BAD,
                    404: _UNKNOWN,
                    409: Answer("the subscriber is terminated"),
                },
            ),
            Route(
                method="POST",
                path=f"{PREFIX}usage",
                handler=self.rate_usage,
                operation="rateUsage",
                summary="Rate a batch of usage records (up to 10,000): charged once per record id",
                body=USAGE_BATCH,
                answers={
                    200: Answer("what each record was granted and charged, duplicates, rejects", "UsageResult"),
                    400: _BAD,
                },
            ),
            Route(
                method="GET",
                path=f"{PREFIX}usage/rejects",
                handler=self._billing.list_rejects,
                operation="listUsageRejects",
                summary="The error list: records refused in whole or in part (?msisdn=, ?after=seq)",
                answers={200: Answer("up to 1000 rejects after the given seq", "UsageRejects"), 400: _BAD},
            ),
            Route(
                method="POST",
                path=f"{subscriber}/protective-restore",
                handler=self.protective_restore,
                operation="protectiveRestore",
                summary="Protective restore (紧急开机) of a suspended subscriber: 24 h and 50元"
                " (VIP gold/diamond/supreme: 5 days, 100元)",
                answers={
                    200: Answer("restored for a while", "ProtectiveRestore"),
                    400: _BAD_NUMBER,
                    404: _UNKNOWN,
                    409: Answer("not suspended, terminated, or restored too recently"),
                },
            ),
            Route(
                method="GET",
                path=f"{subscriber}/status-history",
                handler=self.status_history,
                operation="statusHistory",
                summary="Every credit-control transition of the subscriber, with its reason",
                answers={
                    200: Answer("the transitions, oldest first", "StatusHistory"),
                    400: _BAD_NUMBER,
                    404: _UNKNOWN,
                },
            ),
            Route(
                method="POST",
                path=f"{PREFIX}pushes",
                handler=self.start_campaign,
                operation="startCampaign",
                summary="Start a reminder campaign: a sweep over all subscribers for one kind",
                body=NEW_CAMPAIGN,
                answers={202: Answer("started; follow it at Location", "CampaignProgress"), 400: _BAD},
            ),
            Route(
                method="GET",
                path=f"{PREFIX}pushes/{{campaign}}",
                handler=self._billing.campaign_progress,
                operation="campaignProgress",
                summary="A campaign's progress: selected / queued / sent / delivered / failed / dropped",
                answers={200: Answer("its progress", "CampaignProgress"), 404: Answer("no such campaign")},
            ),
            Route(
                method="GET",
                path=f"{PREFIX}openapi.json",
                handler=self.describe,
                operation="openapi",
                summary="This API as an OpenAPI 3.1 document",
                answers={200: Answer("the document", "OpenApiDocument")},
            ),
        )

    # --- handlers ---------------------------------------------------------------------------------

    async def create_subscriber(self, request: web.Request) -> web.StreamResponse:
        body = self.new_subscriber.parse(parse_json(await request.read()))
        plan = self._products.plan(body["plan"])
        if body["brand"] is not None and body["brand"] != plan.brand:
            message = f"brand: the plan {plan.code} is a {plan.brand} plan, not {body['brand']}"
            raise RequestRefused(400, "bad_field", message, field="brand")
        now = self._clock.now()
        new = NewSubscriber(
            msisdn=body["msisdn"],
            name=body["name"],
            brand=plan.brand,
            plan=plan.code,
            vip=body["vip"],
            cash=body["balance_fen"],
            created_on=self._calendar.today(now),
        )
        await self._store.transact(lambda tx: changes.create_subscriber(tx, new))
        log.info("admin: subscriber added", extra={"msisdn": new.msisdn, "plan": new.plan})
        answer = await self._subscriber(new.msisdn, status=201)
        answer.headers["Location"] = f"{PREFIX}subscribers/{new.msisdn}"
        return answer

    async def read_subscriber(self, request: web.Request) -> web.StreamResponse:
        return await self._subscriber(_msisdn(request))

    async def change_status(self, request: web.Request) -> web.StreamResponse:
        number = _msisdn(request)
        status = self.status_change.parse(parse_json(await request.read()))["status"]
        now = self._clock.now()
        await self._store.transact(lambda tx: changes.set_status(tx, self._credit, number, status, now=now))
        log.info("admin: status set", extra={"msisdn": number, "status": status})
        return await self._subscriber(number)

    async def list_subscriptions(self, request: web.Request) -> web.StreamResponse:
        number = _msisdn(request)
        await self._ledger.subscriber(number)  # UnknownSubscriber: 404
        found = await self._reads.subscriptions(number)
        now = self._clock.now()
        return json_response(
            subscriptions_json(number, found, now=now, calendar=self._calendar, products=self._products)
        )

    async def list_messages(self, request: web.Request) -> web.StreamResponse:
        number = _msisdn(request)
        await self._ledger.subscriber(number)  # UnknownSubscriber: 404
        sent, received = await self._reads.sent(number), await self._reads.received(number)
        return json_response(messages_json(number, sent, received, calendar=self._calendar))

    async def pay(self, request: web.Request) -> web.StreamResponse:
        body = self.new_payment.parse(parse_json(await request.read()))
        order = PaymentOrder(
            reference=body["id"], msisdn=body["msisdn"], amount=Fen(body["amount_fen"]), channel=body["channel"]
        )
        now = self._clock.now()
        paid = await self._store.transact(lambda tx: changes.pay(tx, self._credit, order, now=now))
        log.info(
            "admin: payment",
            extra={"msisdn": order.msisdn, "amount_fen": order.amount, "id": order.reference, "repeat": paid.repeat},
        )
        return json_response(payment_json(paid.payment, calendar=self._calendar), status=200 if paid.repeat else 201)

    async def send_message(self, request: web.Request) -> web.StreamResponse:
        body = self.new_message.parse(parse_json(await request.read()))
        reply = Reply(text=body["text"], destination_addr=body["msisdn"], source_addr=body["service_number"])
        now = self._clock.now()
        mt = await self._store.transact(lambda tx: changes.queue_message(tx, reply, now=now))
        self._outbox.send(mt)
        log.info("admin: message queued", extra={"msisdn": reply.destination_addr, "mt_id": mt.id})
        return json_response(queued_json(mt), status=202)

    async def rate_usage(self, request: web.Request) -> web.StreamResponse:
        body = USAGE_BATCH.parse(parse_json(await request.read()))
        return await self._billing.rate_usage(request, body)

    async def protective_restore(self, request: web.Request) -> web.StreamResponse:
        number = _msisdn(request)
        await self._ledger.subscriber(number)  # UnknownSubscriber: 404
        answer = await self._billing.protective_restore(number)
        log.info("admin: protective restore", extra={"msisdn": number})
        return answer

    async def status_history(self, request: web.Request) -> web.StreamResponse:
        number = _msisdn(request)
        await self._ledger.subscriber(number)  # UnknownSubscriber: 404
        return await self._billing.status_history(number)

    async def start_campaign(self, request: web.Request) -> web.StreamResponse:
        body = NEW_CAMPAIGN.parse(parse_json(await request.read()))
        log.info("admin: campaign", extra={"kind": body["kind"]})
        return await self._billing.start_campaign(body)

    async def describe(self, request: web.Request) -> web.StreamResponse:
        return json_response(self.openapi)

    async def _subscriber(self, number: str, *, status: int = 200) -> web.Response:
        subscriber, account = await self._ledger.subscriber(number)
        view = subscriber_json(subscriber, account, now=self._clock.now(), calendar=self._calendar)
        return json_response(view, status=status)


def _msisdn(request: web.Request) -> str:
    """The number in the path, checked as a body's msisdn would be (400 naming ``msisdn``)."""
    number = request.match_info["msisdn"]
    refuse(MSISDN, number)
    return number
