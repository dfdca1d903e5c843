"""Logging that never shows the bot token (httpx logs request URLs, which contain it)."""

from __future__ import annotations

import logging

from bot.config import Settings


class RedactToken(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            redacted = redacted.replace(secret, "<redacted>")
        if redacted != message or record.exc_info:
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                for secret in self.secrets:
                    record.exc_text = record.exc_text.replace(secret, "<redacted>")
            record.msg, record.args = redacted, None
        return True


def setup_logging(settings: Settings) -> None:
    root = logging.getLogger()
    if not any(isinstance(h, logging.StreamHandler) for h in root.handlers):
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(stream)
    root.setLevel(settings.log_level)
    secrets = [settings.bot_token, settings.webhook_secret]
    for handler in root.handlers:
        if not any(isinstance(f, RedactToken) for f in handler.filters):
            handler.addFilter(RedactToken(secrets))
    # httpx logs every request URL, token included, at INFO: keep it to warnings.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("httpcore").setLevel(max(logging.WARNING, root.level))
