"""Configuration: ``config/gateway.toml``, overridden key by key by ``GATEWAY_<SECTION>__<KEY>``.

Each section is a frozen dataclass; its fields are the keys, their types drive the coercion of
environment strings, and ``check`` metadata holds the rule a value must meet. Any problem stops
start-up with one :class:`ConfigError` line that names the key and says what is wrong.
"""

from __future__ import annotations

import os
import socket
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.errors import ConfigError

ENV_PREFIX = "GATEWAY_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "gateway.toml"

Check = Callable[[Any], str | None]


def between(low: float, high: float) -> Check:
    return lambda v: None if low <= v <= high else f"must be between {low:g} and {high:g}"


def one_of(*choices: str) -> Check:
    return lambda v: None if v in choices else f"must be one of {', '.join(choices)}"


def not_empty(v: Any) -> str | None:
    return None if v else "must not be empty"


def digits_list(v: Any) -> str | None:
    if not v:
        return "must list at least one service number"
    bad = [n for n in v if not (isinstance(n, str) and n.isdigit())]
    return f"must list service numbers as digit strings, not {bad[0]!r}" if bad else None


def known_zone(v: Any) -> str | None:
    try:
        ZoneInfo(v)
    except (ValueError, ZoneInfoNotFoundError):
        return "must be an IANA time zone name such as Asia/Shanghai"
    return None


MIN_TOKEN_LENGTH = 16


def bearer_tokens(v: Any) -> str | None:
    """Admin API tokens: each a string of 16 to 256 visible ASCII characters (no spaces)."""
    for number, token in enumerate(v, 1):
        if not (isinstance(token, str) and MIN_TOKEN_LENGTH <= len(token) <= 256 and token.isascii()):
            return f"token {number} of {len(v)} must be a string of {MIN_TOKEN_LENGTH} to 256 ASCII characters"
        if not all(c.isprintable() and not c.isspace() for c in token):
            return f"token {number} of {len(v)} must not contain spaces or control characters"
    return None


def key(default: Any, check: Check | None = None, *, secret: bool = False) -> Any:
    """A config key; a ``secret`` one is never shown (not in errors, not in the repr of its section)."""
    metadata = {"check": check, "secret": secret}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata, repr=not secret)
    return field(default=default, metadata=metadata, repr=not secret)


@dataclass(frozen=True, slots=True, kw_only=True)
class SmppConfig:
    host: str = key("127.0.0.1", not_empty)
    port: int = key(2775, between(1, 65535))
    system_id: str = key("gateway", lambda v: None if 0 < len(v) <= 15 else "must be 1 to 15 characters")
    password: str = key("secret", lambda v: None if len(v) <= 8 else "must be at most 8 characters")
    system_type: str = key("", lambda v: None if len(v) <= 12 else "must be at most 12 characters")
    bind_mode: str = key("transceiver", one_of("transceiver", "tx_rx"))
    window: int = key(64, between(1, 1000))
    tps: float = key(0.0, between(0, 100000))
    enquire_link_interval: float = key(30.0, between(1, 3600))
    response_timeout: float = key(10.0, between(0.1, 300))
    max_resends: int = key(3, between(0, 100))
    reconnect_min: float = key(0.5, between(0.01, 60))
    reconnect_max: float = key(30.0, between(0.01, 3600))
    throttle_backoff_min: float = key(0.2, between(0.001, 60))
    throttle_backoff_max: float = key(10.0, between(0.001, 600))
    long_messages: str = key("udh8", one_of("udh8", "udh16", "sar"))
    registered_delivery: int = key(1, between(0, 1))
    source_addr_ton: int = key(0, between(0, 6))
    source_addr_npi: int = key(0, between(0, 18))
    dest_addr_ton: int = key(1, between(0, 6))
    dest_addr_npi: int = key(1, between(0, 18))


def instance_name(v: Any) -> str | None:
    if isinstance(v, str) and len(v) <= 64 and all(c.isalnum() or c in "-_.:" for c in v):
        return None
    return "must be at most 64 letters, digits and - _ . :"


def postgres_url(v: Any) -> str | None:
    if v == "" or (isinstance(v, str) and v.startswith(("postgresql://", "postgres://"))):
        return None
    return "must be empty (SQLite at ledger.path) or a postgresql:// URL"


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerConfig:
    path: str = key("gateway.db", not_empty)
    url: str = key("", postgres_url, secret=True)  # PostgreSQL; empty: SQLite at ``path``
    batch_max: int = key(512, between(1, 100000))
    connections: int = key(1, between(1, 64))  # PostgreSQL: batches committing at once (a SQLite file has one)


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpConfig:
    host: str = key("127.0.0.1", not_empty)
    port: int = key(8080, between(0, 65535))
    tokens: list[str] = key([], bearer_tokens, secret=True)
    console: bool = key(False)  # the handset page (/console/handset): for testers and demos, not production
    console_smsc: str = key("")  # the simulator's control API the handset drives (http://127.0.0.1:PORT)


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewaySection:
    service_numbers: list[str] = key(["10086", "10001"], digits_list)
    catalogs: str = key("config/catalogs", not_empty)
    templates: str = key("config/templates/zh-CN.toml", not_empty)
    products: str = key("config/products.toml", not_empty)
    reassembly_timeout: float = key(60.0, between(1, 86400))
    dialog_window: float = key(1800.0, between(10, 86400))
    redelivery_window: float = key(30.0, between(1, 86400))
    max_mo_octets: int = key(1600, between(140, 65536))
    max_parts_per_sender: int = key(32, between(2, 10000))
    max_parts: int = key(10000, between(2, 1000000))
    incomplete_notice_window: float = key(600.0, between(1, 86400))
    rate_limit_per_minute: int = key(20, between(0, 100000))
    rate_limit_per_hour: int = key(200, between(0, 1000000))
    timezone: str = key("Asia/Shanghai", known_zone)
    clock: str = key("system", one_of("system", "manual"))
    shutdown_timeout: float = key(10.0, between(0, 600))
    event_loop: str = key("asyncio", one_of("asyncio", "uvloop"))
    instance: str = key("", instance_name)  # unique among the instances on one database; empty: <hostname>-<pid>
    lease: float = key(15.0, between(2, 300))  # seconds an instance's rows stay its own after its last sign of life


def clock_time(v: Any) -> str | None:
    hour, _, minute = str(v).partition(":")
    ok = hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60 and len(minute) == 2
    return None if ok else "must be a time of day such as 21:00"


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditConfig:
    terminate_after_days: int = key(90, between(1, 3650))
    warn_days_before: int = key(7, between(0, 365))
    protect_hours: int = key(24, between(1, 720))
    protect_fen: int = key(5000, between(0, 10000000))
    protect_vip_hours: int = key(120, between(1, 720))
    protect_vip_fen: int = key(10000, between(0, 10000000))
    protect_vip_levels: list[str] = key(["gold", "diamond", "supreme"])  # 金卡、钻卡及至尊卡 (seed 000)
    guard_days: int = key(7, between(0, 365))
    protect_interval_days: int = key(30, between(0, 3650))
    validity_days_per_payment: int = key(180, between(0, 3650))


@dataclass(frozen=True, slots=True, kw_only=True)
class PushConfig:
    tps: float = key(50.0, between(0.1, 100000))
    source: str = key("10086", lambda v: None if str(v).isdigit() else "must be a service number (digits)")
    low_balance_fen: int = key(1000, between(0, 100000000))
    data_low_kb: int = key(5120, between(0, 1 << 30))
    data_low_kb_data_only: int = key(51200, between(0, 1 << 30))
    abnormal_factor: int = key(5, between(1, 1000))
    quiet_start: str = key("21:00", clock_time)
    quiet_end: str = key("08:00", clock_time)
    urgent: list[str] = key(["suspension", "restore", "protective_restore", "termination", "abnormal_charges"])
    essential: list[str] = key(
        ["suspension", "restore", "protective_restore", "termination", "termination_warning", "abnormal_charges"]
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class UssdConfig:
    menus: str = key("config/ussd/100.toml", not_empty)
    profiles: str = key("config/ussd/profiles.toml", not_empty)
    profile: str = key("smpp34", not_empty)
    timeout: float = key(180.0, between(10, 3600))
    max_sessions: int = key(10000, between(1, 1000000))
    screen_gsm: int = key(182, between(20, 182))
    screen_ucs2: int = key(80, between(10, 80))


@dataclass(frozen=True, slots=True, kw_only=True)
class LogConfig:
    level: str = key("info", one_of("debug", "info", "warning", "error"))
    format: str = key("json", one_of("json", "text"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    smpp: SmppConfig = field(default_factory=SmppConfig)
    ledger: LedgerConfig = field(default_factory=LedgerConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    gateway: GatewaySection = field(default_factory=GatewaySection)
    credit: CreditConfig = field(default_factory=CreditConfig)
    pushes: PushConfig = field(default_factory=PushConfig)
    ussd: UssdConfig = field(default_factory=UssdConfig)
    log: LogConfig = field(default_factory=LogConfig)

    def resolve(self, relative: str) -> Path:
        """A path from the config, relative to the project root unless absolute."""
        path = Path(relative)
        return path if path.is_absolute() else PROJECT_ROOT / path

    def instance_name(self) -> str:
        """This instance's name among those sharing the ledger: ``gateway.instance``, else ``<hostname>-<pid>``."""
        return self.gateway.instance or f"{socket.gethostname()}-{os.getpid()}"

    def ledger_target(self) -> str:
        """Where the ledger is: ``ledger.url`` (PostgreSQL) if set, else the SQLite file at ``ledger.path``."""
        return self.ledger.url or str(self.resolve(self.ledger.path))


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the TOML file (default ``config/gateway.toml``), apply environment overrides, validate."""
    environ = os.environ if environ is None else environ
    path = path or Path(environ.get("GATEWAY_CONFIG", DEFAULT_CONFIG))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    sections = {f.name: f.type for f in fields(Config)}
    for name in raw:
        if name not in sections:
            raise ConfigError(f"[{name}]: unknown section (known: {', '.join(sections)})")
    _check_env_names(environ)
    built = {f.name: _section(f.name, _section_type(f.name), raw.get(f.name, {}), environ) for f in fields(Config)}
    config = Config(**built)
    if config.smpp.reconnect_min > config.smpp.reconnect_max:
        raise ConfigError("smpp.reconnect_min: must not exceed smpp.reconnect_max")
    return config


def _check_env_names(environ: Mapping[str, str]) -> None:
    """A GATEWAY_<SECTION>__<KEY> variable that names no key is a typo that would silently do nothing."""
    for env_name in environ:
        if not env_name.startswith(ENV_PREFIX) or "__" not in env_name:
            continue
        section, _, name = env_name[len(ENV_PREFIX) :].lower().partition("__")
        section_fields = {f.name: f for f in fields(Config)}
        if section not in section_fields or name not in {f.name for f in fields(_section_type(section))}:
            raise ConfigError(f"{section}.{name}: unknown key (from {env_name})")


def _section_type(name: str) -> type:
    hints = typing.get_type_hints(Config)
    section: type = hints[name]
    return section


def _section(name: str, cls: type, table: Any, environ: Mapping[str, str]) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{name}: must be a table")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    for k in table:
        if k not in known:
            raise ConfigError(f"{name}.{k}: unknown key (known: {', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    for f in fields(cls):
        dotted = f"{name}.{f.name}"
        env_name = f"{ENV_PREFIX}{name.upper()}__{f.name.upper()}"
        if env_name in environ:
            value = _from_env(dotted, env_name, environ[env_name], hints[f.name])
        elif f.name in table:
            value = _from_toml(dotted, table[f.name], hints[f.name], secret=f.metadata.get("secret", False))
        else:
            continue
        check: Check | None = f.metadata.get("check")
        problem = check(value) if check else None
        if problem:
            source = f" (from {env_name})" if env_name in environ else ""
            shown = "" if f.metadata.get("secret") else f", got {value!r}"
            raise ConfigError(f"{dotted}: {problem}{shown}{source}")
        values[f.name] = value
    return cls(**values)


def _from_env(dotted: str, env_name: str, text: str, hint: Any) -> Any:
    try:
        if hint is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if hint is int:
            return int(text)
        if hint is float:
            return float(text)
        if typing.get_origin(hint) is list:
            return [item.strip() for item in text.split(",") if item.strip()]
        return text
    except ValueError:
        raise ConfigError(f"{dotted}: must be {_type_name(hint)}, got {text!r} (from {env_name})") from None


def _from_toml(dotted: str, value: Any, hint: Any, *, secret: bool = False) -> Any:
    ok = (
        (hint is bool and isinstance(value, bool))
        or (hint is int and isinstance(value, int) and not isinstance(value, bool))
        or (hint is float and isinstance(value, int | float) and not isinstance(value, bool))
        or (hint is str and isinstance(value, str))
        or (typing.get_origin(hint) is list and isinstance(value, list))
    )
    if not ok:
        raise ConfigError(f"{dotted}: must be {_type_name(hint)}" + ("" if secret else f", got {value!r}"))
    return float(value) if hint is float else value


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) is list:
        return "a list"
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    return names.get(hint, str(hint)) if not isinstance(hint, types.UnionType) else str(hint)
