"""Logging that never shows the bot token (httpx logs request URLs, which contain it).

The token is removed from every log record when the record is made, whichever logger made
it and whichever handler writes it: a handler added later (a test's, an operator's) sees
the redacted record too. Tracebacks are formatted and redacted at the same moment, since
an exception's text may quote a URL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from bot.config import Settings

REDACTED = "<redacted>"


def secret_forms(values: Iterable[str]) -> list[str]:
    """What must never be written: each value, and the secret half of a bot token on its
    own (it is what authenticates; the numeric half is the bot's public id)."""
    forms: set[str] = set()
    for value in values:
        if not value:
            continue
        forms.add(value)
        head, sep, tail = value.partition(":")
        if sep and head.isdigit() and len(tail) >= 8:
            forms.add(tail)
    return sorted(forms, key=len, reverse=True)  # longest first: the token before its half


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _scrub(record: logging.LogRecord, secrets: list[str]) -> None:
    if not secrets:
        return
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: leave it to the handler to report
        return
    redacted = redact(message, secrets)
    if redacted != message:
        record.msg, record.args = redacted, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text, secrets)
    if record.stack_info:
        record.stack_info = redact(record.stack_info, secrets)


class RedactToken(logging.Filter):
    """The same redaction as a handler filter, for records made before setup_logging."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secret_forms(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub(record, self.secrets)
        return True


_SECRETS: list[str] = []
_installed: Callable[..., logging.LogRecord] | None = None


def _install_record_factory() -> None:
    """Wrap the record factory once per process; the secrets it removes can change."""
    global _installed
    if _installed is not None and logging.getLogRecordFactory() is _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _scrub(record, _SECRETS)
        return record

    logging.setLogRecordFactory(factory)
    _installed = factory


def setup_logging(settings: Settings) -> None:
    root = logging.getLogger()
    if not any(isinstance(h, logging.StreamHandler) for h in root.handlers):
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(stream)
    root.setLevel(settings.log_level)
    secrets = [settings.bot_token, settings.webhook_secret]
    _SECRETS[:] = secret_forms([*_SECRETS, *secrets])
    _install_record_factory()
    for handler in root.handlers:
        if not any(isinstance(f, RedactToken) for f in handler.filters):
            handler.addFilter(RedactToken(secrets))
    # httpx logs every request URL, token included, at INFO: keep it to warnings.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("httpcore").setLevel(max(logging.WARNING, root.level))
    # The job scheduler reports each job it adds at INFO: noise for an operator.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
