"""Who speaks for a member: its delegates' accounts, and unbinding one (a lost phone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import clock
from bot.store import Database, Tx

_FIELDS = "telegram_id, member, role, first_name, username, language, joined_at"


@dataclass(frozen=True)
class Delegate:
    """An account bound to a member (delegate or chair) or to the secretariat."""

    telegram_id: int
    member: str | None
    role: str
    first_name: str | None
    username: str | None
    language: str | None
    joined_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "telegram_id": self.telegram_id,
            "member": self.member,
            "role": self.role,
            "first_name": self.first_name,
            "username": self.username,
            "language": self.language,
            "joined_at": clock.iso(self.joined_at) if self.joined_at else None,
        }


def _delegate(row: Any) -> Delegate:
    return Delegate(
        int(row[0]),
        row[1],
        str(row[2]),
        row[3],
        row[4],
        row[5],
        clock.parse(str(row[6])) if row[6] else None,
    )


async def delegates(db: Database, member: str | None = None) -> list[Delegate]:
    """Accounts that speak for members (for ``member`` only, if given), by member then
    joining order."""
    where = "role IN ('delegate', 'chair')" + (" AND member = ?" if member else "")
    rows = await db.all(
        f"SELECT {_FIELDS} FROM users WHERE {where} ORDER BY member, joined_at, telegram_id",
        (member,) if member else (),
    )
    return [_delegate(r) for r in rows]


async def bound(tx: Tx, telegram_id: int) -> Delegate | None:
    row = await tx.one(
        f"SELECT {_FIELDS} FROM users WHERE telegram_id = ? AND role IS NOT NULL",
        (telegram_id,),
    )
    return _delegate(row) if row else None


async def unbind(tx: Tx, telegram_id: int) -> None:
    """The account speaks for nobody any more; what it did for its member stays."""
    await tx.execute(
        "UPDATE users SET member = NULL, role = NULL WHERE telegram_id = ?", (telegram_id,)
    )
    # A half-finished ballot or notice of the account goes with it.
    await tx.execute("DELETE FROM drafts WHERE telegram_id = ?", (telegram_id,))
