"""The USSD pieces without I/O: what fits a screen (:mod:`gateway.ussd.screen`), navigating the menus with
a fake ledger (:mod:`gateway.ussd.navigation`), and loading the menu tree (:mod:`gateway.ussd.menus`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statemachine.exceptions import TransitionNotAllowed
from ussd_ledger import HOME, INVALID, PACKAGES_1, PACKAGES_2, PACKAGES_3, PACKAGES_4, SMS_PACKS, noted

from commands.registry import COMMANDS
from gateway.errors import ConfigError
from gateway.ledger.products import Products
from gateway.templates import Templates
from gateway.ussd.menus import MenuTree
from gateway.ussd.navigation import Navigation, Navigator, Quote, Reply, UssdSession
from gateway.ussd.screen import GSM_SCREEN, UCS2_SCREEN, Screen

CONFIG = Path(__file__).resolve().parent.parent / "config"
TEMPLATES = Templates.load(CONFIG / "templates" / "zh-CN.toml")
PRODUCTS = Products.load(CONFIG / "products.toml")
TREE = MenuTree.load(CONFIG / "ussd" / "100.toml", commands=COMMANDS, products=PRODUCTS)

MORE = "# 下一页"
BACK_HOME = "0 返回 00 首页"


PACKAGE_LINES = [f"{n} {item.label}" for n, item in enumerate(TREE.menu("packages").items, 1)]

DATA_ANSWER = (
    "您好，截至11月23日10时，您本月流量套餐使用情况：GPRS10元包已用29.30MB，剩余40.70MB；GPRS5元包已用0MB，"
    "剩余30.00MB；合计剩余70.70MB。套餐外流量0MB，流量费0.00元。"
)


# --- Screen.fits ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        pytest.param("a" * GSM_SCREEN, True, id="gsm-182"),
        pytest.param("a" * (GSM_SCREEN + 1), False, id="gsm-183"),
        pytest.param("€" * 91, True, id="gsm-extension-91x2"),
        pytest.param("€" * 91 + "a", False, id="gsm-extension-91x2-plus-1"),
        pytest.param("a" * 180 + "{", True, id="gsm-180-and-brace"),
        pytest.param("a" * 181 + "{", False, id="gsm-181-and-brace"),
        pytest.param("a" * 176 + "[]~", True, id="gsm-three-extensions"),
        pytest.param("a" * 177 + "[]~", False, id="gsm-three-extensions-plus-1"),
        pytest.param("中" * UCS2_SCREEN, True, id="ucs2-80"),
        pytest.param("中" * (UCS2_SCREEN + 1), False, id="ucs2-81"),
        pytest.param("a" * 79 + "中", True, id="mixed-is-ucs2-80"),
        pytest.param("a" * 80 + "中", False, id="mixed-is-ucs2-81"),
        pytest.param("€" * 79 + "中", True, id="extension-in-ucs2-counts-1"),
        pytest.param("😀" * 40, True, id="astral-40x2-units"),
        pytest.param("😀" * 40 + "a", False, id="astral-40x2-plus-1"),
        pytest.param("a" * 79 + "\x1b", True, id="escape-is-ucs2-80"),
        pytest.param("a" * 80 + "\x1b", False, id="escape-is-ucs2-81"),
        pytest.param("", True, id="empty"),
    ],
)
def test_fits_at_the_exact_limits(text: str, fits: bool) -> None:
    assert Screen().fits(text) is fits


def test_fits_follows_the_configured_sizes() -> None:
    screen = Screen(gsm=10, ucs2=4)
    assert (screen.fits("a" * 10), screen.fits("a" * 11), screen.fits("a" * 8 + "^")) == (True, False, True)
    assert (screen.fits("中" * 4), screen.fits("中" * 5)) == (True, False)


# --- Screen.pages --------------------------------------------------------------------------------------


def render(head: str, lines: list[str], more: str, tail: str) -> str:
    return "\n".join(x for x in (head, *lines, more, tail) if x)


def test_pages_of_the_packages_menu() -> None:
    pages = Screen().pages(PACKAGE_LINES, head="业务办理", more=MORE, tail=BACK_HOME)
    assert pages == [PACKAGE_LINES[0:3], PACKAGE_LINES[3:6], PACKAGE_LINES[6:11], PACKAGE_LINES[11:13]]
    assert [len(render("业务办理", page, MORE, BACK_HOME)) for page in pages] == [70, 74, 76, 36]


def test_pages_of_nothing_is_one_empty_page() -> None:
    assert Screen().pages([], head="标题", more=MORE, tail=BACK_HOME) == [[]]


def test_a_line_too_long_for_any_page_is_cut_to_fit() -> None:
    screen = Screen(gsm=182, ucs2=20)
    pages = screen.pages(["短", "长" * 30, "短"], head="标题", more="更多", tail="")
    assert pages == [["短"], ["长" * 14], ["短"]]  # 2 + 1 + 14 + 1 + 2 = 20
    assert screen.fits(render("标题", ["长" * 14], "更多", ""))


LINE = st.text(alphabet="a1 (€中元包😀", min_size=1, max_size=20)


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(LINE, max_size=30),
    head=st.sampled_from(["业务办理", "Menu", f"{INVALID}\n业务办理"]),
    tail=st.sampled_from(["", BACK_HOME]),
)
def test_pages_never_exceed_the_screen_and_keep_every_line(lines: list[str], head: str, tail: str) -> None:
    screen = Screen()
    pages = screen.pages(lines, head=head, more=MORE, tail=tail)
    assert [line for page in pages for line in page] == lines
    assert all(page for page in pages) or pages == [[]]
    for page in pages:
        assert screen.fits(render(head, page, MORE, tail))


# --- Screen.chunks -------------------------------------------------------------------------------------


def test_a_text_that_fits_is_one_chunk() -> None:
    assert Screen().chunks("中" * 80, more=MORE) == ["中" * 80]


def test_the_data_answer_is_cut_after_a_comma_not_inside_a_figure() -> None:
    first, second = Screen().chunks(DATA_ANSWER, more=MORE)
    assert (
        first
        == "您好，截至11月23日10时，您本月流量套餐使用情况：GPRS10元包已用29.30MB，剩余40.70MB；GPRS5元包已用0MB，"
    )
    assert second == "剩余30.00MB；合计剩余70.70MB。套餐外流量0MB，流量费0.00元。"


@pytest.mark.parametrize(
    ("text", "chunks"),
    [
        pytest.param("甲乙丙丁，12.50元戊己庚", ["甲乙丙丁，", "12.50元戊己庚"], id="decimal-point-is-no-break"),
        pytest.param("甲乙丙丁，1,000元戊己庚", ["甲乙丙丁，", "1,000元戊己庚"], id="thousands-comma-is-no-break"),
        pytest.param("甲乙丙丁戊己庚辛壬癸子丑寅", ["甲乙丙丁戊己庚辛壬", "癸子丑寅"], id="no-break-cut-where-full"),
        pytest.param(
            "甲，乙丙丁戊己庚辛壬癸子丑", ["甲，乙丙丁戊己庚辛", "壬癸子丑"], id="break-in-first-half-ignored"
        ),
        pytest.param("甲乙丙丁戊己庚。辛壬癸子丑", ["甲乙丙丁戊己庚。", "辛壬癸子丑"], id="after-a-full-stop"),
    ],
)
def test_chunks_prefer_a_break_in_the_second_half(text: str, chunks: list[str]) -> None:
    screen = Screen(gsm=182, ucs2=12)  # with "\n更多": 9 characters of text
    assert screen.chunks(text, more="更多") == chunks


TEXT = st.text(alphabet="a1.,， 。；：中元€😀\n", max_size=500)


@settings(max_examples=150, deadline=None)
@given(text=TEXT, gsm=st.integers(min_value=30, max_value=GSM_SCREEN), ucs2=st.integers(min_value=12, max_value=80))
def test_chunks_join_back_and_each_screen_fits(text: str, gsm: int, ucs2: int) -> None:
    screen = Screen(gsm=gsm, ucs2=ucs2)
    chunks = screen.chunks(text, more=MORE)
    assert "".join(chunks) == text
    assert all(chunks[1:])  # no empty screen, except for an empty text
    for chunk in chunks[:-1]:
        assert screen.fits(f"{chunk}\n{MORE}")
    assert screen.fits(chunks[-1])


# --- Navigator with a fake ledger ----------------------------------------------------------------------


@dataclass
class FakeServices:
    """Answers from tables; records every call."""

    answers: dict[str, str] = field(default_factory=lambda: {"balance": "余额66.30元。", "data_usage": DATA_ANSWER})
    unorderable: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    async def query(self, msisdn: str, command: str) -> str:
        self.calls.append(("query", msisdn, command))
        return self.answers[command]

    async def quote(self, msisdn: str, product: str) -> Quote:
        self.calls.append(("quote", msisdn, product))
        if product in self.unorderable:
            return Quote(self.unorderable[product], False)
        return Quote(f"订购{product}：本月收取1.50元。", True, f"{product}包")

    async def order(self, msisdn: str, product: str) -> str:
        self.calls.append(("order", msisdn, product))
        return f"已订购{product}。"


NAVIGATOR = Navigator(tree=TREE, templates=TEMPLATES, screen=Screen())
Step = tuple[str, str, bool, str]  # input, screen, ends, state afterwards


def opened() -> UssdSession:
    session = UssdSession(id="s1", msisdn="13800138000")
    assert NAVIGATOR.open(session) == Reply(HOME, False)
    assert (session.state, session.menu, session.page, session.trail) == ("menu", "home", 0, ())
    return session


async def run(session: UssdSession, services: FakeServices, steps: list[Step]) -> None:
    for key, screen, ends, state in steps:
        reply = await NAVIGATOR.step(session, key, services)
        assert reply == Reply(screen, ends), f"after {key!r}"
        assert session.state == state, f"after {key!r}"
        assert session.last_reply == (screen, ends)


async def test_pages_back_and_home() -> None:
    session, services = opened(), FakeServices()
    await run(
        session,
        services,
        [
            ("0", HOME, False, "menu"),
            ("3", PACKAGES_1, False, "menu"),
            ("#", PACKAGES_2, False, "menu"),
            ("#", PACKAGES_3, False, "menu"),
            ("0", PACKAGES_2, False, "menu"),
            ("0", PACKAGES_1, False, "menu"),
            ("0", HOME, False, "menu"),
            ("3", PACKAGES_1, False, "menu"),
            ("10", noted(PACKAGES_1), False, "menu"),  # item 10 is not on this page: not chosen
            ("#", PACKAGES_2, False, "menu"),
            ("1", noted(PACKAGES_2), False, "menu"),  # nor is item 1 on page 2 (4 to 6)
            ("#", PACKAGES_3, False, "menu"),
            (" 10 ", SMS_PACKS, False, "menu"),
        ],
    )
    assert (session.menu, session.page, session.trail) == ("sms_packs", 0, (("home", 0), ("packages", 2)))
    await run(session, services, [("00", HOME, False, "menu")])
    assert (session.menu, session.page, session.trail) == ("home", 0, ())
    assert services.calls == []


@pytest.mark.parametrize("key", ["6", "9", "#", "abc", "", "000", "*", "1*2", "-1", "０"])
async def test_an_invalid_input_shows_the_same_page_with_a_note(key: str) -> None:
    session, services = opened(), FakeServices()
    await run(session, services, [(key, noted(HOME), False, "menu"), ("1", "余额66.30元。", True, "closed")])
    assert services.calls == [("query", "13800138000", "balance")]


async def test_hash_on_the_last_page_is_invalid_and_stays_there() -> None:
    session, services = opened(), FakeServices()
    await run(session, services, [("3", PACKAGES_1, False, "menu"), ("#", PACKAGES_2, False, "menu")])
    await run(session, services, [("#", PACKAGES_3, False, "menu"), ("#", PACKAGES_4, False, "menu")])
    reply = await NAVIGATOR.step(session, "#", services)
    assert reply is not None
    assert (reply.text.split("\n")[0], reply.end, session.state, session.page) == (INVALID, False, "menu", 3)


async def test_an_invalid_input_on_a_later_page_keeps_that_page_s_items() -> None:
    session, services = opened(), FakeServices()
    await run(session, services, [("3", PACKAGES_1, False, "menu"), ("#", PACKAGES_2, False, "menu")])
    await run(session, services, [("#", PACKAGES_3, False, "menu")])
    reply = await NAVIGATOR.step(session, "x", services)
    assert reply is not None
    for line in PACKAGE_LINES[6:11]:
        assert line in reply.text.split("\n")
    assert Screen().fits(reply.text)


async def test_a_short_answer_ends_the_session() -> None:
    session, services = opened(), FakeServices()
    await run(session, services, [("1", "余额66.30元。", True, "closed")])
    assert services.calls == [("query", "13800138000", "balance")]


async def test_a_long_answer_is_read_screen_by_screen() -> None:
    session, services = opened(), FakeServices(answers={"data_usage": "数据" * 100})  # 200 characters
    await run(
        session,
        services,
        [
            ("2", f"{'数据' * 37}\n{MORE}", False, "reading"),  # 74 + 1 + 5 = 80
            ("0", f"{'数据' * 37}\n{MORE}", False, "reading"),  # any input, even "0", reads on
            ("x", "数据" * 26, True, "closed"),
        ],
    )
    assert (session.screens, session.at) == (("数据" * 37, "数据" * 37, "数据" * 26), 2)
    assert services.calls == [("query", "13800138000", "data_usage")]


async def test_a_confirmed_order_is_ordered() -> None:
    session, services = opened(), FakeServices()
    await run(
        session,
        services,
        [
            ("3", PACKAGES_1, False, "menu"),
            ("1", "订购GPRS3：本月收取1.50元。\n1 确认\n2 取消", False, "confirming"),
        ],
    )
    assert (session.order, session.order_name) == ("GPRS3", "GPRS3包")
    await run(session, services, [(" 1 ", "已订购GPRS3。", True, "closed")])
    assert (session.order, session.order_name) == ("", "")
    assert services.calls == [("quote", "13800138000", "GPRS3"), ("order", "13800138000", "GPRS3")]


@pytest.mark.parametrize("key", ["2", "0", "00", "11", "#", "", "是"])
async def test_anything_but_1_declines_the_order(key: str) -> None:
    session, services = opened(), FakeServices()
    await run(
        session,
        services,
        [
            ("3", PACKAGES_1, False, "menu"),
            ("#", PACKAGES_2, False, "menu"),
            ("#", PACKAGES_3, False, "menu"),
            ("10", SMS_PACKS, False, "menu"),
        ],
    )
    await run(session, services, [("2", "订购DX6：本月收取1.50元。\n1 确认\n2 取消", False, "confirming")])
    await run(session, services, [(key, "您好，您已取消订购DX6包，未扣费。", True, "closed")])
    assert services.calls == [("quote", "13800138000", "DX6")]


async def test_an_item_that_cannot_be_ordered_ends_with_why() -> None:
    session, services = opened(), FakeServices(unorderable={"GPRS10": "您好，您已订购GPRS10元包，无需重复订购。"})
    await run(
        session,
        services,
        [("3", PACKAGES_1, False, "menu"), ("3", "您好，您已订购GPRS10元包，无需重复订购。", True, "closed")],
    )
    assert services.calls == [("quote", "13800138000", "GPRS10")]


@pytest.mark.parametrize(
    ("keys", "state"),
    [([], "menu"), (["2"], "reading"), (["3", "1"], "confirming"), (["1"], "closed")],
)
async def test_end_closes_the_session_from_any_state(keys: list[str], state: str) -> None:
    session, services = opened(), FakeServices()
    for key in keys:
        await NAVIGATOR.step(session, key, services)
    assert session.state == state
    NAVIGATOR.end(session)
    assert session.state == "closed"
    NAVIGATOR.end(session)  # ending twice does nothing
    assert session.state == "closed"


@pytest.mark.parametrize("key", ["1", "3", "#", "x"])
async def test_a_closed_session_takes_no_input(key: str) -> None:
    session, services = opened(), FakeServices()
    NAVIGATOR.end(session)
    reply = await NAVIGATOR.step(session, key, services)
    assert reply is not None
    assert ((reply.text, reply.end), session.state) == (session.last_reply, "closed")


async def test_a_closed_session_asks_nothing_of_the_ledger() -> None:
    session, services = opened(), FakeServices()
    shown = session.last_reply
    NAVIGATOR.end(session)
    reply = await NAVIGATOR.step(session, "1", services)  # its last screen again, nothing run
    assert reply is not None
    assert ((reply.text, reply.end), session.state, services.calls) == (shown, "closed", [])


@pytest.mark.parametrize(
    ("state", "event"),
    [
        ("menu", "next_screen"),
        ("reading", "navigate"),
        ("reading", "ask"),
        ("reading", "answer"),
        ("confirming", "navigate"),
        ("confirming", "read"),
        ("closed", "end"),
        ("closed", "navigate"),
    ],
)
def test_the_machine_refuses_an_event_its_state_does_not_allow(state: str, event: str) -> None:
    session = UssdSession(id="s1", msisdn="13800138000", state=state)
    machine = Navigation(model=session, state_field="state")
    with pytest.raises(TransitionNotAllowed):
        machine.send(event)
    assert session.state == state


@pytest.mark.parametrize(("at", "state"), [(0, "reading"), (1, "reading"), (2, "closed")])
def test_next_screen_closes_at_the_last_screen(at: int, state: str) -> None:
    session = UssdSession(id="s1", msisdn="13800138000", state="reading", screens=("a", "b", "c"), at=at)
    Navigation(model=session, state_field="state").send("next_screen")
    assert session.state == state


def test_every_menu_page_of_the_tree_fits_with_and_without_the_note() -> None:
    screen = Screen()
    for menu in TREE.menus.values():
        for note in ("", INVALID):
            head = note or menu.title
            lines = [f"{n} {item.label}" for n, item in enumerate(menu.items, 1)]
            pages = screen.pages(lines, head=head, more=MORE, tail=BACK_HOME)
            assert [line for page in pages for line in page] == lines
            for page in pages:
                assert screen.fits(render(head, page, MORE, BACK_HOME))


# --- MenuTree.load -------------------------------------------------------------------------------------

HOME_ITEMS = '{ label = "话费查询", command = "balance" }, { label = "业务办理", menu = "packages" }'
PACKAGES = '[[menus]]\nid = "packages"\ntitle = "业务办理"\nitems = [{ label = "GPRS3元包", order = "GPRS3" }]\n'


def menus_file(
    tmp_path: Path, *, home_items: str = HOME_ITEMS, top: str = 'home = "home"\n', rest: str = PACKAGES
) -> Path:
    text = (
        f'service_code = "*100#"\ncatalog = "10086"\n{top}\n'
        f'[[menus]]\nid = "home"\ntitle = "自助服务"\nitems = [{home_items}]\n\n{rest}'
    )
    path = tmp_path / "100.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path) -> MenuTree:
    return MenuTree.load(path, commands=COMMANDS, products=PRODUCTS)


def test_the_bundled_menu_tree_loads() -> None:
    assert (TREE.service_code, TREE.catalog, TREE.home) == ("*100#", "10086", "home")
    assert list(TREE.menus) == ["home", "packages", "sms_packs", "mms_packs", "voice_packs", "services"]
    assert len(TREE.menu("packages").items) == 13


def test_every_package_of_the_products_can_be_ordered_from_the_menu() -> None:
    ordered = [item.order for menu in TREE.menus.values() for item in menu.items if item.order]
    assert sorted(ordered) == sorted(p.code for p in PRODUCTS.packages.values())
    assert len(ordered) == len(set(ordered))  # and each from one place


def test_a_good_file_loads(tmp_path: Path) -> None:
    tree = load(menus_file(tmp_path, top=""))  # home defaults to "home"
    assert tree.home == "home"
    assert [item.order for item in tree.menu("packages").items] == ["GPRS3"]


@pytest.mark.parametrize(
    ("file", "problem"),
    [
        pytest.param(
            {"home_items": '{ label = "话费查询", command = "nope" }'},
            "menu 'home' item 1 (话费查询): unknown command 'nope'",
            id="unknown-command",
        ),
        pytest.param(
            {"home_items": HOME_ITEMS + ', { label = "更多", menu = "more" }'},
            "menu 'home' item 3 (更多): unknown menu 'more'",
            id="unknown-menu",
        ),
        pytest.param(
            {"rest": PACKAGES.replace('order = "GPRS3"', 'order = "GPRS999"')},
            "menu 'packages' item 1 (GPRS3元包): unknown package 'GPRS999'",
            id="unknown-package",
        ),
        pytest.param(
            {"rest": PACKAGES.replace('order = "GPRS3"', 'order = "PLAN"').replace("GPRS3元包", "套餐")},
            "menu 'packages' item 1 (套餐): unknown package 'PLAN'",
            id="unknown-package-2",
        ),
        pytest.param(
            {"home_items": '{ label = "话费查询", command = "balance", order = "GPRS3" }'},
            "menu 'home' item 1 (话费查询): give exactly one of command, menu, order",
            id="two-actions",
        ),
        pytest.param(
            {"home_items": HOME_ITEMS + ', { label = "空" }'},
            "menu 'home' item 3 (空): give exactly one of command, menu, order",
            id="no-action",
        ),
        pytest.param({"top": 'home = "main"\n'}, "home menu 'main' is not one of the menus", id="missing-home"),
        pytest.param({"home_items": ""}, "menu 'home' has no items", id="no-items"),
        pytest.param({"rest": PACKAGES.replace('title = "业务办理"\n', "")}, "bad menu entry: 'title'", id="no-title"),
    ],
)
def test_a_bad_file_is_refused_by_name(tmp_path: Path, file: dict[str, str], problem: str) -> None:
    path = menus_file(tmp_path, **file)
    with pytest.raises(ConfigError) as refused:
        load(path)
    assert str(refused.value) == f"gateway.ussd_menus: {path}: {problem}"


def test_a_file_without_a_home_menu_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "100.toml"
    path.write_text(f'service_code = "*100#"\ncatalog = "10086"\n{PACKAGES}', encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load(path)
    assert str(refused.value) == f"gateway.ussd_menus: {path}: home menu 'home' is not one of the menus"


@pytest.mark.parametrize("text", [None, "service_code = \n", b"\xff\xfe"])
def test_an_unreadable_file_is_refused(tmp_path: Path, text: str | bytes | None) -> None:
    path = tmp_path / "100.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load(path)
    assert str(refused.value).startswith(f"gateway.ussd_menus: {path}: cannot read: ")
