"""Service catalogs from ``config/catalogs/*.toml``: the codes a service number knows, and their commands."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import ConfigError
from gateway.ledger.products import Products


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeEntry:
    code: str
    summary: str
    command: str
    aliases: tuple[str, ...] = ()
    argument: str = ""  # e.g. the package an order code orders
    listed: bool = True  # shown in the help answer
    number: bool = False  # the code may be followed by a phone number (601 13912345678)
    words: bool = False  # the code may be followed by any text the command reads (602 常州, 605 日本)


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog:
    service_number: str
    name: str
    entries: tuple[CodeEntry, ...]

    def lookup(self, code: str) -> CodeEntry | None:
        for entry in self.entries:
            if code == entry.code or code in entry.aliases:
                return entry
        for entry in self.entries:  # a code followed by a number: the command reads the number
            if entry.number and code.startswith(entry.code) and code[len(entry.code) :].isdigit():
                return entry
        for entry in self.entries:  # a code followed by words (a city, a country)
            if entry.words and code.startswith(entry.code) and len(code) > len(entry.code):
                return entry
        return None


def load_catalogs(
    folder: Path, service_numbers: list[str], known_commands: set[str], products: Products | None = None
) -> dict[str, Catalog]:
    """One catalog per configured service number; a missing or broken file stops start-up.

    A catalog with ``product_codes = true`` also knows every order and cancel code of the products
    (``KTGPRS10``, ``3041``, ``QXCL``...), unlisted in its help answer.
    """
    catalogs = {}
    for number in service_numbers:
        path = folder / f"{number}.toml"
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"gateway.service_numbers: no catalog {path} for service number {number}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"gateway.catalogs: {path} is not valid TOML: {exc}") from None
        catalog = _catalog(path, number, raw, known_commands)
        if raw.get("product_codes") and products is not None:
            catalog = _with_product_codes(catalog, products)
        catalogs[number] = catalog
    return catalogs


def _with_product_codes(catalog: Catalog, products: Products) -> Catalog:
    listed = {e.code for e in catalog.entries} | {a for e in catalog.entries for a in e.aliases}
    extra = [
        CodeEntry(code=code, summary="", command=command, argument=package.code, listed=False)
        for package in products.packages.values()
        for command, codes in (("order", package.order), ("cancel", package.cancel))
        for code in codes
        if code not in listed
    ]
    return Catalog(service_number=catalog.service_number, name=catalog.name, entries=catalog.entries + tuple(extra))


def _catalog(path: Path, number: str, raw: dict[str, object], known_commands: set[str]) -> Catalog:
    if raw.get("service_number") != number:
        raise ConfigError(f"gateway.catalogs: {path} has service_number {raw.get('service_number')!r}, not {number!r}")
    entries = []
    codes = raw.get("codes", [])
    if not isinstance(codes, list):
        raise ConfigError(f"gateway.catalogs: {path}: codes must be a list of tables")
    for item in codes:
        command = str(item.get("command", "help"))
        if command not in known_commands:
            raise ConfigError(f"gateway.catalogs: {path}: code {item.get('code')!r} names unknown command {command!r}")
        entries.append(
            CodeEntry(
                code=str(item["code"]).upper(),
                summary=str(item.get("summary", "")),
                command=command,
                aliases=tuple(str(a).upper() for a in item.get("aliases", [])),
                argument=str(item.get("argument", "")),
                listed=bool(item.get("listed", True)),
                number=bool(item.get("number", False)),
                words=bool(item.get("words", False)),
            )
        )
    return Catalog(service_number=number, name=str(raw.get("name", number)), entries=tuple(entries))
