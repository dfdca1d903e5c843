"""Appending to and reading the audit log."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from bot import clock
from bot.audit import GENESIS, Entry, Head, canonical_details, entry_hash
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


async def head(db: Database) -> Head | None:
    """The last entry as recorded apart from the log (see bot/audit.py)."""
    row = await db.one("SELECT id, hash FROM audit_head WHERE singleton = 1")
    return Head(int(row[0]), str(row[1])) if row else None


async def log_and_head(db: Database) -> tuple[list[Entry], Head | None]:
    """Every entry and the head, read in one snapshot so that a running bot's appends
    cannot fall between the two reads."""
    async with db.snapshot() as tx:
        rows = await tx.all(
            "SELECT id, at, actor, member, action, details, prev_hash, hash FROM audit_log"
            " ORDER BY id"
        )
        found = await tx.one("SELECT id, hash FROM audit_head WHERE singleton = 1")
    return [Entry(*tuple(row)) for row in rows], (
        Head(int(found[0]), str(found[1])) if found else None
    )


async def forget(db: Database, telegram_id: int) -> bool:
    """Erase a person's personal data: name, username, Telegram id and language, wherever
    they are kept; what the person did for a member stays, without the person.

    The audit log names people only by pseudonym: deleting the pseudonym's row unlinks
    every entry from the person without touching one byte of the chain. An open vote stays
    the member's vote; who of its delegates cast it (``votes.cast_by``) is personal data and
    goes. Messages already sent to the person keep their delivery state under an id that
    stands for nobody, so that notice reports still add up.
    """
    # Deleted rows are overwritten, not just unlinked from the file's pages.
    await db.conn.execute("PRAGMA secure_delete = ON")
    async with db.transaction() as tx:
        person = await tx.one(
            "SELECT first_name, username FROM users WHERE telegram_id = ?", (telegram_id,)
        )
        known = person is not None or await tx.one(
            "SELECT 1 FROM pseudonyms WHERE telegram_id = ?", (telegram_id,)
        )
        if not known:
            return False
        await tx.execute("DELETE FROM users WHERE telegram_id = ?", (telegram_id,))
        await tx.execute("DELETE FROM pseudonyms WHERE telegram_id = ?", (telegram_id,))
        await tx.execute("DELETE FROM drafts WHERE telegram_id = ?", (telegram_id,))
        # used_by must stay set on a used code (single use); 0 is nobody.
        await tx.execute("UPDATE invitations SET used_by = 0 WHERE used_by = ?", (telegram_id,))
        for table, column in (
            ("invitations", "created_by"),
            ("votes", "cast_by"),
            ("questions", "opened_by"),
            ("notices", "created_by"),
            ("session_requests", "created_by"),
        ):
            await tx.execute(
                f"UPDATE {table} SET {column} = NULL WHERE {column} = ?", (telegram_id,)
            )
        await tx.execute(
            "UPDATE questions SET turnout_chat = NULL, turnout_message = NULL"
            " WHERE turnout_chat = ?",
            (telegram_id,),
        )
        await tx.execute(
            "UPDATE notices SET progress_chat = NULL, progress_message = NULL"
            " WHERE progress_chat = ?",
            (telegram_id,),
        )
        # Nothing more goes to the person; what was sent keeps its state under a negative
        # id (private chats have positive ids), one per forgotten person.
        await tx.execute(
            "UPDATE outbox SET state = 'failed', error = 'recipient forgotten'"
            " WHERE telegram_id = ? AND state IN ('pending', 'sending')",
            (telegram_id,),
        )
        stand_in = await tx.one("SELECT min(0, coalesce(min(telegram_id), 0)) - 1 FROM outbox")
        assert stand_in is not None
        await tx.execute(
            "UPDATE outbox SET telegram_id = ? WHERE telegram_id = ?",
            (int(stand_in[0]), telegram_id),
        )
        # Delivery reports name the recipients they could not reach.
        if person is not None:
            for value in (person[0], f"@{person[1]}" if person[1] else None, str(telegram_id)):
                if value:
                    await _scrub_reports(tx, value)
        await append(tx, "person_forgotten", {}, actor="cli")
    # Older versions of the pages stay in the write-ahead log until a checkpoint copies the
    # new ones over them; a running bot reading at that instant can delay it (best effort).
    await db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return True


async def _scrub_reports(tx: Tx, value: str) -> None:
    """Replace a person's name in stored delivery reports, where it stands as a placeholder
    value: escaped and between isolates, as ``t()`` writes it, then JSON-encoded."""
    import html
    import json

    from bot.i18n import FSI, PDI

    def stored(text: str) -> str:
        return json.dumps(FSI + text + PDI, ensure_ascii=False)[1:-1]

    needle = stored(html.escape(value, quote=False))
    await tx.execute(
        "UPDATE outbox SET payload = replace(payload, ?, ?) WHERE instr(payload, ?) > 0"
        " AND notice IN (SELECT id FROM notices WHERE kind = 'report')",
        (needle, stored("—"), needle),
    )
