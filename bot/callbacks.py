"""Callback data: short ASCII strings ``<kind>:<arg>:<arg>``, parsed by one function; and
the ids that buttons and commands carry, parsed by another (``parse_id``).

Whatever a callback claims is checked again by the handler against the database: the
data only says which button was pressed, never what the presser may do.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_BYTES = 64
KINDS = {
    "lang": 1,  # lang:<ar|en|fr>
    "v": 2,  # v:<question>:<choice>          a ballot choice (resolutions) or toggle (elections)
    "vc": 2,  # vc:<question>:<confirm|cancel|submit>
    "m": 2,  # m:<command>:<meeting>          which meeting, when two are current
    "n": 2,  # n:<draft>:<step value>        composing a notice
    "cv": 2,  # cv:<question>:<choice>        the chair's casting vote
    "et": 2,  # et:<question>:<mask>          an election ballot showing this selection
    "att": 2,  # att:<p|a>:<meeting>          attendance by hand: which meeting
    "es": 2,  # es:<question>:<mask>          submit: review this selection
    "ec": 2,  # ec:<question>:<mask>          confirm this selection
}


@dataclass(frozen=True)
class Callback:
    kind: str
    args: tuple[str, ...]


# SQLite's largest integer: a larger id cannot exist, and cannot even be looked up.
LARGEST_ID = 2**63 - 1


def parse_id(text: str | None) -> int | None:
    """An id typed in a command or carried by a button: a positive whole number that can
    exist in the database, else None (the caller answers that there is no such thing)."""
    text = (text or "").strip()
    # Decimal digits only ('²' is a digit int() refuses); Arabic-Indic ones are welcome.
    if not text.isdecimal() or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value <= LARGEST_ID else None


def make(kind: str, *args: object) -> str:
    data = ":".join([kind, *map(str, args)])
    if kind not in KINDS or len(args) != KINDS[kind]:
        raise ValueError(f"bad callback shape: {data!r}")
    if len(data.encode()) > MAX_BYTES or not data.isascii():
        raise ValueError(f"callback data too long or not ASCII: {data!r}")
    return data


def parse(data: str | None) -> Callback | None:
    """The callback, or None for anything we did not make (forged, truncated, stale)."""
    if not data or len(data.encode()) > MAX_BYTES or not data.isascii():
        return None
    kind, *args = data.split(":")
    if KINDS.get(kind) != len(args):
        return None
    if not all(arg and all(c.isalnum() or c in "_-" for c in arg) for arg in args):
        return None
    return Callback(kind, tuple(args))
