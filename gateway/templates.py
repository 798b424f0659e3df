"""Reply texts from ``config/templates/*.toml``. Code names a template; the file says the words."""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError

REQUIRED = ("help", "help_code", "help_code_separator", "incomplete_message", "system_error")


@dataclass(frozen=True, slots=True)
class Templates:
    texts: dict[str, str]

    @classmethod
    def load(cls, path: Path) -> Templates:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"gateway.templates: cannot read {path}: {exc}") from None
        missing = [name for name in REQUIRED if name not in raw]
        if missing:
            raise ConfigError(f"gateway.templates: {path} lacks the template(s) {', '.join(missing)}")
        for name, text in raw.items():
            if not isinstance(text, str):
                raise ConfigError(f"gateway.templates: {path}: {name} must be a string")
            list(string.Formatter().parse(text))  # a malformed {placeholder} fails at start-up, not at reply
        return cls(dict(raw))

    def render(self, template: str, /, **values: Any) -> str:
        return self.texts[template].format(**values)
