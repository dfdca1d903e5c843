"""Multi-step conversations kept in the database, one per person and kind: each step is a
compare-and-set on the stored text, so a button pressed twice changes nothing."""

from __future__ import annotations

from bot.store import Database, Tx


async def put(db: Database, telegram_id: int, kind: str, data: str, now: str) -> None:
    """Start (or restart) a person's draft of ``kind``."""
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO drafts (telegram_id, kind, data, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(telegram_id, kind) DO UPDATE SET data = excluded.data,"
            " updated_at = excluded.updated_at",
            (telegram_id, kind, data, now),
        )


async def get(db: Database, telegram_id: int, kind: str) -> tuple[str, str] | None:
    """(data, updated_at) of a person's draft of ``kind``."""
    row = await db.one(
        "SELECT data, updated_at FROM drafts WHERE telegram_id = ? AND kind = ?",
        (telegram_id, kind),
    )
    return (str(row[0]), str(row[1])) if row else None


async def replace(
    db: Database, telegram_id: int, kind: str, before: str, after: str, now: str
) -> bool:
    """``after`` in place of ``before``; False if the draft is no longer ``before``."""
    async with db.transaction() as tx:
        changed = await tx.execute(
            "UPDATE drafts SET data = ?, updated_at = ? WHERE telegram_id = ? AND kind = ?"
            " AND data = ?",
            (after, now, telegram_id, kind, before),
        )
    return bool(changed)


async def take(tx: Tx, telegram_id: int, kind: str, data: str | None = None) -> bool:
    """Delete the draft (only if it is still ``data``, when given); False if it was not."""
    if data is None:
        changed = await tx.execute(
            "DELETE FROM drafts WHERE telegram_id = ? AND kind = ?", (telegram_id, kind)
        )
    else:
        changed = await tx.execute(
            "DELETE FROM drafts WHERE telegram_id = ? AND kind = ? AND data = ?",
            (telegram_id, kind, data),
        )
    return bool(changed)


async def read(tx: Tx, telegram_id: int, kind: str) -> str | None:
    """A person's draft of ``kind`` inside a transaction."""
    row = await tx.one(
        "SELECT data FROM drafts WHERE telegram_id = ? AND kind = ?", (telegram_id, kind)
    )
    return str(row[0]) if row else None
