"""The one place that reads the clock, so tests and rules can pass times explicitly."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 with offset, seconds precision, the form stored and exported."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.isoformat(timespec="seconds")


def parse(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time without offset: {text!r}")
    return moment


def year_in(timezone: str) -> int:
    """The current calendar year where the organization keeps its books."""
    return now().astimezone(ZoneInfo(timezone)).year
