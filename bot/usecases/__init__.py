"""Use cases: one function per decision, between the handlers (or the CLI) and the store.

Each runs in one write transaction (``BEGIN IMMEDIATE``): it reads the facts inside it,
applies ``bot.rules``, writes, queues its outbox rows, appends its audit entry, and returns
a typed result (a frozen dataclass). Two competing calls are therefore two transactions
one after the other: the second sees what the first decided and answers accordingly
("already closed", "quorum already called"). Handlers and the CLI parse, authorize, call
one use case and render its result.

``checkpoint(name)`` marks a point inside a transaction where tests may hold it open, to
run a competing call against it deterministically; it does nothing otherwise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

_holds: dict[str, Callable[[], Awaitable[None]]] = {}


async def checkpoint(name: str) -> None:
    hold = _holds.get(name)
    if hold is not None:
        await hold()


def hold_at(name: str, hold: Callable[[], Awaitable[None]] | None) -> None:
    """Run ``hold`` (awaited) whenever a transaction passes ``checkpoint(name)``; None
    removes it. For tests of competing decisions."""
    if hold is None:
        _holds.pop(name, None)
    else:
        _holds[name] = hold
