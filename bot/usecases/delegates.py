"""Unbinding a delegate's account: a lost phone, or a person who no longer represents
the member. The member's other delegates, and the votes already cast, are untouched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.store import Database, audit
from bot.store import delegates as store


@dataclass(frozen=True)
class Unbound:
    telegram_id: int
    member: str
    role: str
    first_name: str | None


@dataclass(frozen=True)
class UnbindRefused:
    reason: Literal["unknown_account", "secretariat_account"]


async def unbind(
    db: Database,
    telegram_id: int,
    *,
    actor_id: int | None = None,
    actor: str | None = None,
) -> Unbound | UnbindRefused:
    """The account stops speaking for its member, in one transaction with its audit entry.

    Ballot buttons already in the account's chat check who presses them on every press, so
    they stop working at once; a vote it already cast stays the member's vote (R5).
    """
    async with db.transaction() as tx:
        found = await store.bound(tx, telegram_id)
        if found is None:
            return UnbindRefused("unknown_account")
        if found.member is None:
            return UnbindRefused("secretariat_account")
        await store.unbind(tx, telegram_id)
        await audit.append(
            tx,
            "delegate_unbound",
            {"account": await audit.pseudonym(tx, telegram_id), "role": found.role},
            actor_id=actor_id,
            actor=actor,
            member=found.member,
        )
    return Unbound(telegram_id, found.member, found.role, found.first_name)
