"""Settings, read from the environment once and validated at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_API_URL = "https://api.telegram.org/bot"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    bot_token: str = ""
    telegram_api_url: str = DEFAULT_API_URL
    database_path: str = "oicc.sqlite3"
    secretariat_ids: frozenset[int] = field(default_factory=frozenset)
    timezone: str = "Asia/Riyadh"
    bot_username: str = ""
    webhook_url: str = ""
    webhook_secret: str = ""
    port: int = 8443
    postponement_minutes: float = 120.0
    good_standing_years: int = 3
    log_level: str = "INFO"
    currency: str = "USD"
    user_commands_per_minute: int = 60
    outbox_in_flight: int = 16
    reminder_minutes: float = 5.0

    @property
    def telegram_file_url(self) -> str:
        """PTB's file URL, derived from the API URL (``.../bot`` -> ``.../file/bot``)."""
        base = self.telegram_api_url
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base.rstrip("/") + "/file/bot"

    def require_token(self) -> str:
        if not self.bot_token:
            raise ConfigError("BOT_TOKEN is not set: ask @BotFather for a token and export it")
        if ":" not in self.bot_token or not self.bot_token.split(":", 1)[0].isdigit():
            raise ConfigError("BOT_TOKEN is malformed: expected '<digits>:<secret>'")
        return self.bot_token


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _database_path(env: Mapping[str, str]) -> str:
    """DATABASE_PATH, checked for what SQLite would otherwise report as 'unable to open'."""
    raw = env.get("DATABASE_PATH", "").strip() or "oicc.sqlite3"
    path = Path(raw)
    if path.is_dir():
        raise ConfigError(f"DATABASE_PATH is a folder, not a file: {raw}")
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(f"DATABASE_PATH is in a folder that does not exist: {folder}")
    return raw


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``env`` (the process environment by default)."""
    env = os.environ if env is None else env
    ids: set[int] = set()
    for part in env.get("SECRETARIAT_IDS", "").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.lstrip("-").isdigit():
            raise ConfigError(f"SECRETARIAT_IDS must be comma-separated Telegram ids, got {part!r}")
        ids.add(int(part))
    timezone = env.get("TIMEZONE", "").strip() or "Asia/Riyadh"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"TIMEZONE is not a known time zone: {timezone!r}") from None
    raw_minutes = env.get("POSTPONEMENT_MINUTES", "").strip() or "120"
    try:
        minutes = float(raw_minutes)
    except ValueError:
        raise ConfigError(f"POSTPONEMENT_MINUTES must be a number, got {raw_minutes!r}") from None
    if not minutes > 0:
        raise ConfigError("POSTPONEMENT_MINUTES must be greater than zero")
    raw_reminder = env.get("REMINDER_MINUTES", "").strip() or "5"
    try:
        reminder = float(raw_reminder)
    except ValueError:
        raise ConfigError(f"REMINDER_MINUTES must be a number, got {raw_reminder!r}") from None
    if not reminder >= 0:
        raise ConfigError("REMINDER_MINUTES must be zero or more")
    level = (env.get("LOG_LEVEL", "").strip() or "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(
            f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {level!r}"
        )
    currency = (env.get("CURRENCY", "").strip() or "USD").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ConfigError(f"CURRENCY must be a three-letter ISO 4217 code, got {currency!r}")
    webhook_url = env.get("WEBHOOK_URL", "").strip()
    if webhook_url and not webhook_url.startswith(("https://", "http://")):
        raise ConfigError(f"WEBHOOK_URL must be an http(s) URL, got {webhook_url!r}")
    return Settings(
        bot_token=env.get("BOT_TOKEN", "").strip(),
        telegram_api_url=env.get("TELEGRAM_API_URL", "").strip() or DEFAULT_API_URL,
        database_path=_database_path(env),
        secretariat_ids=frozenset(ids),
        timezone=timezone,
        bot_username=env.get("BOT_USERNAME", "").strip().lstrip("@"),
        webhook_url=webhook_url,
        webhook_secret=env.get("WEBHOOK_SECRET", "").strip(),
        port=_int(env, "PORT", 8443, minimum=1),
        postponement_minutes=minutes,
        good_standing_years=_int(env, "GOOD_STANDING_YEARS", 3, minimum=1),
        log_level=level,
        currency=currency,
        user_commands_per_minute=_int(env, "USER_COMMANDS_PER_MINUTE", 60),
        outbox_in_flight=_int(env, "OUTBOX_IN_FLIGHT", 16, minimum=1),
        reminder_minutes=reminder,
    )
