"""gateway.config: defaults from config/gateway.toml, GATEWAY_<SECTION>__<KEY> overrides, one-line errors."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import pytest

from gateway.config import DEFAULT_CONFIG, PROJECT_ROOT, Config, load_config
from gateway.errors import ConfigError

SECTIONS = ("smpp", "ledger", "http", "gateway", "credit", "pushes", "ussd", "log")

SMPP_KEYS = (
    "bind_mode, dest_addr_npi, dest_addr_ton, enquire_link_interval, host, long_messages, max_resends, password, port,"
    " reconnect_max, reconnect_min, registered_delivery, response_timeout, source_addr_npi, source_addr_ton,"
    " system_id, system_type, throttle_backoff_max, throttle_backoff_min, tps, window"
)


def write(tmp_path: Path, text: str, name: str = "gateway.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def all_keys() -> set[str]:
    return {
        f"{section.name}.{key.name}"
        for section in dataclasses.fields(Config)
        for key in dataclasses.fields(getattr(Config(), section.name))
    }


def value_of(config: Config, dotted: str) -> Any:
    section, key = dotted.split(".")
    return getattr(getattr(config, section), key)


# --- defaults --------------------------------------------------------------------------------------


def test_the_bundled_file_holds_every_key_and_matches_the_code_defaults() -> None:
    raw = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    assert tuple(raw) == SECTIONS
    assert {f"{section}.{key}" for section, table in raw.items() for key in table} == all_keys()
    assert load_config(DEFAULT_CONFIG, environ={}) == Config()


def test_defaults_load_from_the_bundled_file() -> None:
    config = load_config(environ={})
    assert (config.smpp.host, config.smpp.port, config.smpp.system_id, config.smpp.password) == (
        "127.0.0.1",
        2775,
        "gateway",
        "secret",
    )
    assert (config.smpp.bind_mode, config.smpp.window, config.smpp.tps) == ("transceiver", 64, 0.0)
    assert type(config.smpp.tps) is float  # "tps = 0" in the file is an integer in TOML
    assert (config.smpp.reconnect_min, config.smpp.reconnect_max) == (0.5, 30.0)
    assert (config.smpp.long_messages, config.smpp.registered_delivery) == ("udh8", 1)
    assert (config.ledger.path, config.ledger.batch_max) == ("gateway.db", 512)
    assert (config.http.host, config.http.port) == ("127.0.0.1", 8080)
    assert config.gateway.service_numbers == ["10086", "10001"]
    assert (config.gateway.reassembly_timeout, config.gateway.timezone) == (60.0, "Asia/Shanghai")
    assert (config.log.level, config.log.format) == ("info", "json")


def test_a_file_with_only_some_keys_takes_the_rest_from_the_code_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[smpp]\nport = 3000\n\n[log]\nformat = 'text'\n"), environ={})
    assert config == dataclasses.replace(
        Config(),
        smpp=dataclasses.replace(Config().smpp, port=3000),
        log=dataclasses.replace(Config().log, format="text"),
    )


def test_an_empty_file_gives_the_code_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, ""), environ={}) == Config()


def test_gateway_config_names_the_file_when_no_path_is_given(tmp_path: Path) -> None:
    path = write(tmp_path, "[http]\nport = 9090\n", name="other.toml")
    assert load_config(environ={"GATEWAY_CONFIG": str(path)}).http.port == 9090


def test_resolve_is_relative_to_the_project_root_unless_absolute() -> None:
    config = Config()
    assert config.resolve("config/catalogs") == PROJECT_ROOT / "config" / "catalogs"
    assert config.resolve("/var/lib/gateway/gateway.db") == Path("/var/lib/gateway/gateway.db")


# --- environment overrides ------------------------------------------------------------------------

# Every key: the environment text and the value it must become (type included).
OVERRIDES: dict[str, tuple[str, Any]] = {
    "smpp.host": ("localhost", "localhost"),
    "smpp.port": ("2776", 2776),
    "smpp.system_id": ("esme01", "esme01"),
    "smpp.password": ("pw", "pw"),
    "smpp.system_type": ("VMA", "VMA"),
    "smpp.bind_mode": ("tx_rx", "tx_rx"),
    "smpp.window": ("8", 8),
    "smpp.tps": ("12.5", 12.5),
    "smpp.enquire_link_interval": ("5", 5.0),
    "smpp.response_timeout": ("2.5", 2.5),
    "smpp.reconnect_min": ("1", 1.0),
    "smpp.reconnect_max": ("60", 60.0),
    "smpp.throttle_backoff_min": ("0.5", 0.5),
    "smpp.throttle_backoff_max": ("20", 20.0),
    "smpp.long_messages": ("sar", "sar"),
    "smpp.registered_delivery": ("0", 0),
    "smpp.source_addr_ton": ("5", 5),
    "smpp.source_addr_npi": ("1", 1),
    "smpp.dest_addr_ton": ("2", 2),
    "smpp.dest_addr_npi": ("9", 9),
    "smpp.max_resends": ("5", 5),
    "ussd.max_sessions": ("500", 500),
    "ledger.path": ("/var/lib/gateway/gateway.db", "/var/lib/gateway/gateway.db"),
    "ledger.url": ("postgresql://gateway:pw@db:5432/gateway", "postgresql://gateway:pw@db:5432/gateway"),
    "ledger.batch_max": ("64", 64),
    "ledger.connections": ("2", 2),
    "http.host": ("localhost", "localhost"),
    "http.port": ("0", 0),
    "http.tokens": ("0123456789abcdef, fedcba9876543210-x,", ["0123456789abcdef", "fedcba9876543210-x"]),
    "http.console": ("true", True),
    "http.console_smsc": ("http://127.0.0.1:8775", "http://127.0.0.1:8775"),
    "gateway.service_numbers": ("10086, 10010 ,1008611,", ["10086", "10010", "1008611"]),
    "gateway.catalogs": ("/etc/gateway/catalogs", "/etc/gateway/catalogs"),
    "gateway.templates": ("/etc/gateway/zh-CN.toml", "/etc/gateway/zh-CN.toml"),
    "gateway.products": ("/etc/gateway/products.toml", "/etc/gateway/products.toml"),
    "gateway.dialog_window": ("600", 600.0),
    "gateway.clock": ("manual", "manual"),
    "gateway.redelivery_window": ("10", 10.0),
    "gateway.max_mo_octets": ("2000", 2000),
    "gateway.max_parts_per_sender": ("16", 16),
    "gateway.max_parts": ("500", 500),
    "gateway.incomplete_notice_window": ("60", 60.0),
    "gateway.rate_limit_per_minute": ("5", 5),
    "gateway.rate_limit_per_hour": ("50", 50),
    "gateway.reassembly_timeout": ("120", 120.0),
    "gateway.timezone": ("UTC", "UTC"),
    "gateway.shutdown_timeout": ("0", 0.0),
    "gateway.event_loop": ("uvloop", "uvloop"),
    "gateway.instance": ("gw-b.2", "gw-b.2"),
    "gateway.lease": ("4.5", 4.5),
    "credit.terminate_after_days": ("60", 60),
    "credit.warn_days_before": ("3", 3),
    "credit.protect_hours": ("12", 12),
    "credit.protect_fen": ("3000", 3000),
    "credit.protect_vip_hours": ("72", 72),
    "credit.protect_vip_fen": ("20000", 20000),
    "credit.protect_vip_levels": ("diamond", ["diamond"]),
    "credit.guard_days": ("3", 3),
    "credit.protect_interval_days": ("10", 10),
    "credit.validity_days_per_payment": ("90", 90),
    "pushes.tps": ("200", 200.0),
    "pushes.source": ("10001", "10001"),
    "pushes.low_balance_fen": ("500", 500),
    "pushes.data_low_kb": ("10240", 10240),
    "pushes.data_low_kb_data_only": ("102400", 102400),
    "pushes.abnormal_factor": ("3", 3),
    "pushes.quiet_start": ("22:00", "22:00"),
    "pushes.quiet_end": ("07:30", "07:30"),
    "pushes.urgent": ("suspension,termination", ["suspension", "termination"]),
    "pushes.essential": ("suspension", ["suspension"]),
    "ussd.menus": ("/etc/gateway/ussd.toml", "/etc/gateway/ussd.toml"),
    "ussd.profiles": ("/etc/gateway/profiles.toml", "/etc/gateway/profiles.toml"),
    "ussd.profile": ("close_0x17", "close_0x17"),
    "ussd.timeout": ("60", 60.0),
    "ussd.screen_gsm": ("160", 160),
    "ussd.screen_ucs2": ("70", 70),
    "log.level": ("debug", "debug"),
    "log.format": ("text", "text"),
}


def env_name(dotted: str) -> str:
    section, key = dotted.split(".")
    return f"GATEWAY_{section.upper()}__{key.upper()}"


def test_the_override_table_covers_every_key() -> None:
    assert set(OVERRIDES) == all_keys()


@pytest.mark.parametrize(("dotted", "text", "expected"), [(k, *v) for k, v in OVERRIDES.items()])
def test_every_key_is_overridden_by_its_environment_variable(dotted: str, text: str, expected: Any) -> None:
    config = load_config(DEFAULT_CONFIG, environ={env_name(dotted): text})
    value = value_of(config, dotted)
    assert value == expected
    assert type(value) is type(expected)
    assert value != value_of(Config(), dotted)  # the override really changed something
    for other in all_keys() - {dotted}:
        assert value_of(config, other) == value_of(Config(), other)


def test_all_overrides_at_once() -> None:
    config = load_config(DEFAULT_CONFIG, environ={env_name(k): text for k, (text, _) in OVERRIDES.items()})
    assert {k: value_of(config, k) for k in OVERRIDES} == {k: expected for k, (_, expected) in OVERRIDES.items()}


def test_the_environment_beats_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[smpp]\nport = 3000\nsystem_id = 'fromfile'\n")
    config = load_config(path, environ={"GATEWAY_SMPP__PORT": "4000"})
    assert (config.smpp.port, config.smpp.system_id) == (4000, "fromfile")


def test_an_override_of_a_section_the_file_leaves_out_still_applies(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[smpp]\nport = 3000\n"), environ={"GATEWAY_LOG__LEVEL": "error"})
    assert config.log.level == "error"


def test_variables_without_the_prefix_or_the_double_underscore_are_ignored() -> None:
    config = load_config(DEFAULT_CONFIG, environ={"SMPP__PORT": "1", "GATEWAY_SMPP_PORT": "1", "PORT": "1"})
    assert config == Config()


# --- bad values ----------------------------------------------------------------------------------

BAD_ENV: list[tuple[dict[str, str], str]] = [
    (
        {"GATEWAY_GATEWAY__TIMEZONE": "Mars/Olympus"},
        "gateway.timezone: must be an IANA time zone name such as Asia/Shanghai, got 'Mars/Olympus' "
        "(from GATEWAY_GATEWAY__TIMEZONE)",
    ),
    ({"GATEWAY_SMPP__PROT": "2775"}, "smpp.prot: unknown key (from GATEWAY_SMPP__PROT)"),
    ({"GATEWAY_SMS__PORT": "2775"}, "sms.port: unknown key (from GATEWAY_SMS__PORT)"),
    (
        {"GATEWAY_GATEWAY__SERVICE_NUMBERS": " , "},
        "gateway.service_numbers: must list at least one service number, got [] "
        "(from GATEWAY_GATEWAY__SERVICE_NUMBERS)",
    ),
    ({"GATEWAY_SMPP__PORT": "abc"}, "smpp.port: must be an integer, got 'abc' (from GATEWAY_SMPP__PORT)"),
    ({"GATEWAY_SMPP__PORT": "27.75"}, "smpp.port: must be an integer, got '27.75' (from GATEWAY_SMPP__PORT)"),
    (
        {"GATEWAY_SMPP__PORT": "70000"},
        "smpp.port: must be between 1 and 65535, got 70000 (from GATEWAY_SMPP__PORT)",
    ),
    ({"GATEWAY_SMPP__PORT": "0"}, "smpp.port: must be between 1 and 65535, got 0 (from GATEWAY_SMPP__PORT)"),
    (
        {"GATEWAY_HTTP__PORT": "-1"},
        "http.port: must be between 0 and 65535, got -1 (from GATEWAY_HTTP__PORT)",
    ),
    (
        {"GATEWAY_SMPP__BIND_MODE": "receiver"},
        "smpp.bind_mode: must be one of transceiver, tx_rx, got 'receiver' (from GATEWAY_SMPP__BIND_MODE)",
    ),
    (
        {"GATEWAY_SMPP__SYSTEM_ID": "abcdefghijklmnop"},
        "smpp.system_id: must be 1 to 15 characters, got 'abcdefghijklmnop' (from GATEWAY_SMPP__SYSTEM_ID)",
    ),
    (
        {"GATEWAY_SMPP__SYSTEM_ID": ""},
        "smpp.system_id: must be 1 to 15 characters, got '' (from GATEWAY_SMPP__SYSTEM_ID)",
    ),
    (
        {"GATEWAY_SMPP__PASSWORD": "123456789"},
        "smpp.password: must be at most 8 characters, got '123456789' (from GATEWAY_SMPP__PASSWORD)",
    ),
    ({"GATEWAY_SMPP__TPS": "fast"}, "smpp.tps: must be a number, got 'fast' (from GATEWAY_SMPP__TPS)"),
    (
        {"GATEWAY_SMPP__LONG_MESSAGES": "udh"},
        "smpp.long_messages: must be one of udh8, udh16, sar, got 'udh' (from GATEWAY_SMPP__LONG_MESSAGES)",
    ),
    (
        {"GATEWAY_GATEWAY__SERVICE_NUMBERS": "10086,abc"},
        "gateway.service_numbers: must list service numbers as digit strings, not 'abc',"
        " got ['10086', 'abc'] (from GATEWAY_GATEWAY__SERVICE_NUMBERS)",
    ),
    (
        {"GATEWAY_LOG__LEVEL": "verbose"},
        "log.level: must be one of debug, info, warning, error, got 'verbose' (from GATEWAY_LOG__LEVEL)",
    ),
    ({"GATEWAY_LEDGER__PATH": ""}, "ledger.path: must not be empty, got '' (from GATEWAY_LEDGER__PATH)"),
    (  # a token is never shown, not even a bad one
        {"GATEWAY_HTTP__TOKENS": "0123456789abcdef,short-token"},
        "http.tokens: token 2 of 2 must be a string of 16 to 256 ASCII characters (from GATEWAY_HTTP__TOKENS)",
    ),
    (
        {"GATEWAY_SMPP__RECONNECT_MIN": "5", "GATEWAY_SMPP__RECONNECT_MAX": "1"},
        "smpp.reconnect_min: must not exceed smpp.reconnect_max",
    ),
]


@pytest.mark.parametrize(("environ", "message"), BAD_ENV)
def test_a_bad_environment_value_is_one_config_error_line(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(DEFAULT_CONFIG, environ=environ)
    assert str(caught.value) == message


BAD_TOML: list[tuple[str, str]] = [
    ("[smpp]\nport = 70000\n", "smpp.port: must be between 1 and 65535, got 70000"),
    ("[smpp]\nport = 'x'\n", "smpp.port: must be an integer, got 'x'"),
    ("[smpp]\nport = true\n", "smpp.port: must be an integer, got True"),
    ("[smpp]\nport = 2775.0\n", "smpp.port: must be an integer, got 2775.0"),
    ("[smpp]\ntps = '1'\n", "smpp.tps: must be a number, got '1'"),
    ("[smpp]\nhost = ''\n", "smpp.host: must not be empty, got ''"),
    ("[smpp]\nhost = 127\n", "smpp.host: must be a string, got 127"),
    ("[smpp]\nbind_mode = 'receiver'\n", "smpp.bind_mode: must be one of transceiver, tx_rx, got 'receiver'"),
    (
        "[smpp]\nsystem_id = 'a-very-long-system'\n",
        "smpp.system_id: must be 1 to 15 characters, got 'a-very-long-system'",
    ),
    ("[smpp]\nreconnect_min = 10\nreconnect_max = 2\n", "smpp.reconnect_min: must not exceed smpp.reconnect_max"),
    ("[gateway]\nservice_numbers = '10086'\n", "gateway.service_numbers: must be a list, got '10086'"),
    (
        "[gateway]\nservice_numbers = [10086]\n",
        "gateway.service_numbers: must list service numbers as digit strings, not 10086, got [10086]",
    ),
    ("[smtp]\nport = 25\n", "[smtp]: unknown section (known: smpp, ledger, http, gateway, credit, pushes, ussd, log)"),
    ("title = 'gateway'\n", "[title]: unknown section (known: smpp, ledger, http, gateway, credit, pushes, ussd, log)"),
    ("smpp = 1\n", "smpp: must be a table"),
    ("[smpp]\nprot = 2775\n", f"smpp.prot: unknown key (known: {SMPP_KEYS})"),
    ("[log]\nlevle = 'debug'\n", "log.levle: unknown key (known: format, level)"),
    ("[http]\ntokens = 'abcdefghijklmnopq'\n", "http.tokens: must be a list"),
    (
        "[http]\ntokens = [12345678901234567]\n",
        "http.tokens: token 1 of 1 must be a string of 16 to 256 ASCII characters",
    ),
    (
        "[http]\ntokens = ['abcdefghijklmnopq', 'abcdefgh ijklmnopq']\n",
        "http.tokens: token 2 of 2 must not contain spaces or control characters",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_TOML)
def test_a_bad_file_value_is_one_config_error_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), environ={})
    assert str(caught.value) == message


def test_the_environment_can_mend_a_bad_file_value(tmp_path: Path) -> None:
    path = write(tmp_path, "[smpp]\nport = 'x'\n")
    assert load_config(path, environ={"GATEWAY_SMPP__PORT": "2776"}).smpp.port == 2776


def toml_error(text: str) -> str:
    with pytest.raises(tomllib.TOMLDecodeError) as caught:
        tomllib.loads(text)
    return str(caught.value)


@pytest.mark.parametrize("text", ["[smpp\nport = 2775\n", "[smpp]\nport = \n", "[smpp]\nport = 1\nport = 2\n"])
def test_invalid_toml_is_one_config_error_line_naming_the_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(caught.value) == f"{path}: not valid TOML: {toml_error(text)}"
    assert "\n" not in str(caught.value)


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes("[gateway]\ntimezone = 'Zürich'\n".encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(caught.value) == (
        f"{path}: not valid TOML: 'utf-8' codec can't decode byte 0xfc in position 23: invalid start byte"
    )


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(caught.value) == f"{path}: file not found"


def test_a_missing_file_named_by_gateway_config_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"GATEWAY_CONFIG": str(path)})
    assert str(caught.value) == f"{path}: file not found"


def test_a_directory_instead_of_a_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, environ={})
    assert str(caught.value) == f"{tmp_path}: cannot read: Is a directory"


def test_tokens_are_not_in_the_repr_of_the_config() -> None:
    config = load_config(DEFAULT_CONFIG, environ={"GATEWAY_HTTP__TOKENS": "secret-token-0123456789"})
    assert config.http.tokens == ["secret-token-0123456789"]
    assert "secret-token" not in repr(config)
