"""The USSD menu tree from ``config/ussd/*.toml``: menus are data (docs/ussd.md).

Each item of a menu does one thing: opens a sub-menu (``menu``), runs a query command and ends the
session with its answer (``command``), or orders a package after a confirmation (``order``). Loading
checks every reference, so a menu naming a command, package or menu that does not exist stops start-up
with one line naming the file and the item.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError
from gateway.ledger.products import Products


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    label: str
    command: str = ""
    menu: str = ""
    order: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Menu:
    id: str
    title: str
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class MenuTree:
    service_code: str  # what the subscriber dials, e.g. *100#
    catalog: str  # the service number whose catalog and templates the answers use
    home: str
    menus: dict[str, Menu]

    def menu(self, menu_id: str) -> Menu:
        return self.menus[menu_id]

    @classmethod
    def load(cls, path: Path, *, commands: Collection[str], products: Products) -> MenuTree:
        where = f"gateway.ussd_menus: {path}"
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{where}: cannot read: {exc}") from None
        try:
            menus = {str(m["id"]): _menu(m) for m in raw["menus"]}
            tree = cls(
                service_code=str(raw["service_code"]),
                catalog=str(raw["catalog"]),
                home=str(raw.get("home", "home")),
                menus=menus,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: bad menu entry: {exc}") from None
        problem = tree._problem(commands, products)
        if problem:
            raise ConfigError(f"{where}: {problem}")
        return tree

    def _problem(self, commands: Collection[str], products: Products) -> str | None:
        if self.home not in self.menus:
            return f"home menu {self.home!r} is not one of the menus"
        for menu in self.menus.values():
            if not menu.items:
                return f"menu {menu.id!r} has no items"
            for number, item in enumerate(menu.items, 1):
                at = f"menu {menu.id!r} item {number} ({item.label})"
                if sum(bool(x) for x in (item.command, item.menu, item.order)) != 1:
                    return f"{at}: give exactly one of command, menu, order"
                if item.command and item.command not in commands:
                    return f"{at}: unknown command {item.command!r}"
                if item.menu and item.menu not in self.menus:
                    return f"{at}: unknown menu {item.menu!r}"
                if item.order and item.order not in products.packages:
                    return f"{at}: unknown package {item.order!r}"
        return None


def _menu(entry: dict[str, Any]) -> Menu:
    items = tuple(
        Item(
            label=str(i["label"]),
            command=str(i.get("command", "")),
            menu=str(i.get("menu", "")),
            order=str(i.get("order", "")),
        )
        for i in entry["items"]
    )
    return Menu(id=str(entry["id"]), title=str(entry["title"]), items=items)
