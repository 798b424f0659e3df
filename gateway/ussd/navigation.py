"""Navigating the USSD menus: one :class:`Navigation` machine per session, and what each input does.

The machine (python-statemachine) holds where the session is: on a ``menu`` page, ``reading`` a long
answer screen by screen, ``confirming`` an order, or ``closed``. :class:`Navigator` reads the input,
decides the event and its effect on the session (another menu, a page, back, home, an answer, an order)
and renders the screen; the ledger work it needs comes through :class:`Services`, so this module does
no I/O and knows nothing of SMPP or HTTP.

Input on a menu: the number of an item; ``#`` the next page; ``0`` back (the previous page, else the
menu above, at the page it was left on); ``00`` home. Anything else shows the same page again with a
note. While confirming an order: ``1`` orders, anything else declines. While reading: any input shows
the next screen.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from statemachine import State, StateMachine

from gateway.templates import Templates
from gateway.ussd.menus import Item, MenuTree
from gateway.ussd.screen import Screen

BACK, HOME, MORE, YES = "0", "00", "#", "1"


@dataclass(slots=True, kw_only=True)
class UssdSession:
    """The machine's model: where one session is, and what it has shown. Thousands may be open at once: the
    fields of a session that has only dialled are shared or empty (the home screen's text, empty tuples, no
    lock until its first input)."""

    id: str
    msisdn: str
    state: str = "menu"
    menu: str = ""
    page: int = 0
    trail: tuple[tuple[str, int], ...] = ()  # the menus above this one, at their page
    order: str = ""  # confirming: the package
    order_name: str = ""
    screens: tuple[str, ...] = ()  # reading: the long answer's screens
    at: int = 0  # reading: the screen shown
    seen: float = 0.0  # the last input, on the gateway's clock
    last_input: str = ""  # HTTP: the whole text of the last request (a retry is answered the same)
    last_reply: tuple[str, bool] = ("", False)
    lock: asyncio.Lock | None = field(default=None, repr=False)  # one input at a time (made at the first)


class _Ended(Exception):
    """The session was ended from outside during a step."""


class Navigation(StateMachine):
    menu = State(initial=True)
    reading = State()
    confirming = State()
    closed = State(final=True)

    navigate = menu.to(menu)  # another menu or page, back, home, or the same page after a bad input
    answer = menu.to(closed) | confirming.to(closed)  # an answer that fits one screen ends the session
    read = menu.to(reading)  # a long answer: its first screen
    next_screen = reading.to(closed, cond="at_last_screen") | reading.to(reading)
    ask = menu.to(confirming)
    end = menu.to(closed) | reading.to(closed) | confirming.to(closed)  # abort, release, time-out

    def at_last_screen(self) -> bool:
        session: UssdSession = self.model
        return session.at >= len(session.screens) - 1


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    end: bool  # the session closes with this screen


@dataclass(frozen=True, slots=True)
class Quote:
    text: str  # the confirmation prompt, or why it cannot be ordered
    orderable: bool
    name: str = ""  # the package's name


class Services(Protocol):
    """The ledger work a session asks for, answered in the same words as the SMS commands."""

    async def query(self, msisdn: str, command: str) -> str: ...

    async def quote(self, msisdn: str, product: str) -> Quote: ...

    async def order(self, msisdn: str, product: str) -> str: ...


class Navigator:
    def __init__(self, *, tree: MenuTree, templates: Templates, screen: Screen) -> None:
        self.tree = tree
        self.templates = templates
        self.screen = screen
        self._home: Reply | None = None  # the home menu's first page, the same for every session

    def machine(self, session: UssdSession) -> Navigation:
        return Navigation(model=session, state_field="state")

    def open(self, session: UssdSession) -> Reply:
        """The home menu, for a session just begun."""
        session.menu, session.page, session.trail = self.tree.home, 0, ()
        if self._home is None:
            self._home = self._menu_screen(session)
        return self._remember(session, self._home)

    async def step(self, session: UssdSession, text: str, services: Services) -> Reply | None:
        """The screen ``text`` leads to; None when the session was ended (an abort, a release, the time-out)
        while this input's ledger work ran: nobody is there to see it."""
        if session.state == "closed":  # nothing more happens in a closed session: its last screen again
            return Reply(*session.last_reply)
        try:
            return await self._step(session, text, services)
        except _Ended:
            return None

    async def _step(self, session: UssdSession, text: str, services: Services) -> Reply:
        machine = self.machine(session)
        text = text.strip()
        if session.state == "reading":
            session.at += 1
            self._send(machine, session, "next_screen")
            return self._remember(session, self._reading(session))
        if session.state == "confirming":
            product, name, session.order, session.order_name = session.order, session.order_name, "", ""
            if text == YES:
                done = await services.order(session.msisdn, product)
            else:
                done = self.templates.render("order_declined", name=name)
            self._send(machine, session, "answer")
            return self._remember(session, Reply(done, True))
        return self._remember(session, await self._on_menu(session, machine, text, services))

    def _send(self, machine: Navigation, session: UssdSession, event: str) -> None:
        if session.state == "closed":  # ended from outside while the work before this event ran
            raise _Ended
        machine.send(event)

    def end(self, session: UssdSession) -> None:
        """The subscriber aborted, the network released the session, or it timed out."""
        if session.state != "closed":
            self.machine(session).send("end")

    async def _on_menu(self, session: UssdSession, machine: Navigation, text: str, services: Services) -> Reply:
        menu = self.tree.menu(session.menu)
        pages = self._pages(session)
        note = ""
        if text == HOME:
            session.menu, session.page, session.trail = self.tree.home, 0, ()
        elif text == BACK:
            if session.page > 0:
                session.page -= 1
            elif session.trail:
                (session.menu, session.page), session.trail = session.trail[-1], session.trail[:-1]
        elif text == MORE and session.page < len(pages) - 1:
            session.page += 1
        elif text.isdigit() and int(text) in self._shown(pages, session.page):
            return await self._choose(session, machine, menu.items[int(text) - 1], services)
        else:
            note = self.templates.render("ussd_invalid")
        self._send(machine, session, "navigate")
        return self._menu_screen(session, note=note)

    async def _choose(self, session: UssdSession, machine: Navigation, item: Item, services: Services) -> Reply:
        if item.menu:
            session.trail = (*session.trail, (session.menu, session.page))
            session.menu, session.page = item.menu, 0
            self._send(machine, session, "navigate")
            return self._menu_screen(session)
        if item.order:
            quote = await services.quote(session.msisdn, item.order)
            if not quote.orderable:
                self._send(machine, session, "answer")
                return Reply(quote.text, True)
            session.order, session.order_name = item.order, quote.name
            self._send(machine, session, "ask")
            return Reply(self.templates.render("ussd_confirm", prompt=quote.text), False)
        text = await services.query(session.msisdn, item.command)
        session.screens = tuple(self.screen.chunks(text, more=self.templates.render("ussd_more")))
        session.at = 0
        if len(session.screens) == 1:
            self._send(machine, session, "answer")
            return Reply(text, True)
        self._send(machine, session, "read")
        return self._reading(session)

    def _reading(self, session: UssdSession) -> Reply:
        last = session.at >= len(session.screens) - 1
        shown = session.screens[session.at]
        return Reply(shown if last else f"{shown}\n{self.templates.render('ussd_more')}", last)

    def _lines(self, session: UssdSession) -> list[str]:
        menu = self.tree.menu(session.menu)
        return [self.templates.render("ussd_item", number=n, label=i.label) for n, i in enumerate(menu.items, 1)]

    def _layout(self, session: UssdSession) -> tuple[list[list[str]], bool]:
        """The menu's pages, and whether they carry the ``0 返回 00 首页`` line (not on a one-page home menu).

        The pages are cut with the longer of the title and the invalid-input note as their head, and the
        note is shown instead of the title: a bad input shows the same page, not a page cut anew."""
        menu = self.tree.menu(session.menu)
        lines = self._lines(session)
        note = self.templates.render("ussd_invalid")
        head = max(menu.title, note, key=lambda text: len(text.encode("utf-16-be")))
        if session.menu == self.tree.home and not session.trail:
            alone = self.screen.pages(lines, head=head, more="", tail="")
            if len(alone) == 1:
                return alone, False
        more, tail = self.templates.render("ussd_more"), self.templates.render("ussd_back_home")
        return self.screen.pages(lines, head=head, more=more, tail=tail), True

    def _pages(self, session: UssdSession) -> list[list[str]]:
        return self._layout(session)[0]

    @staticmethod
    def _shown(pages: list[list[str]], page: int) -> range:
        """The numbers of the items on the page the subscriber sees: only those can be chosen (on page 2 of
        业务办理, 4 to 6; a 1 there is not GPRS3元包, which is not on the screen)."""
        first = sum(len(p) for p in pages[:page]) + 1
        return range(first, first + len(pages[min(page, len(pages) - 1)]))

    def _menu_screen(self, session: UssdSession, note: str = "") -> Reply:
        pages, framed = self._layout(session)
        session.page = min(session.page, len(pages) - 1)
        last = session.page == len(pages) - 1
        more = "" if last else self.templates.render("ussd_more")
        tail = self.templates.render("ussd_back_home") if framed else ""
        parts = [note or self.tree.menu(session.menu).title, *pages[session.page], more, tail]
        return Reply("\n".join(p for p in parts if p), False)

    def _remember(self, session: UssdSession, reply: Reply) -> Reply:
        session.last_reply = (reply.text, reply.end)
        return reply
