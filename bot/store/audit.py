"""Appending to and reading the audit log."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from bot import clock
from bot.audit import GENESIS, Entry, canonical_details, entry_hash
from bot.store import Database, Tx


async def pseudonym(tx: Tx, telegram_id: int) -> str:
    """The stable pseudonym that stands for a Telegram account in the audit log."""
    row = await tx.one("SELECT pseudonym FROM pseudonyms WHERE telegram_id = ?", (telegram_id,))
    if row:
        return str(row[0])
    value = "u-" + secrets.token_hex(8)
    await tx.execute(
        "INSERT INTO pseudonyms (telegram_id, pseudonym) VALUES (?, ?)", (telegram_id, value)
    )
    return value


async def append(
    tx: Tx,
    action: str,
    details: Mapping[str, Any],
    *,
    actor_id: int | None = None,
    member: str | None = None,
    actor: str | None = None,
) -> None:
    """Append an entry inside the caller's transaction, chained to the last one.

    ``actor_id`` is a Telegram account (stored as its pseudonym); ``actor`` names a
    non-person actor such as ``cli`` or ``bot``.
    """
    if actor_id is not None:
        actor = await pseudonym(tx, actor_id)
    last = await tx.one("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
    entry_id = (int(last[0]) + 1) if last else 1
    prev_hash = str(last[1]) if last else GENESIS
    at = clock.iso(clock.now())
    text = canonical_details(details)
    digest = entry_hash(entry_id, at, actor, member, action, text, prev_hash)
    await tx.execute(
        "INSERT INTO audit_log (id, at, actor, member, action, details, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (entry_id, at, actor, member, action, text, prev_hash, digest),
    )


async def entries(db: Database) -> list[Entry]:
    rows = await db.all(
        "SELECT id, at, actor, member, action, details, prev_hash, hash FROM audit_log ORDER BY id"
    )
    return [Entry(*tuple(row)) for row in rows]


async def forget(db: Database, telegram_id: int) -> bool:
    """Erase a person: the account row and the pseudonym link. The chain is untouched."""
    async with db.transaction() as tx:
        removed = await tx.execute("DELETE FROM users WHERE telegram_id = ?", (telegram_id,))
        removed += await tx.execute("DELETE FROM pseudonyms WHERE telegram_id = ?", (telegram_id,))
        await tx.execute("DELETE FROM drafts WHERE telegram_id = ?", (telegram_id,))
        await tx.execute("UPDATE invitations SET used_by = 0 WHERE used_by = ?", (telegram_id,))
        if removed:
            await append(tx, "person_forgotten", {}, actor="cli")
        return bool(removed)
