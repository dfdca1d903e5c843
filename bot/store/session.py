"""Running a session by hand: attendance marked by the secretariat, withdrawn questions,
and vote deadlines. Every function here takes the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import clock
from bot.store import Database, Tx


@dataclass(frozen=True)
class Presence:
    present: bool
    marked_by: str
    reason: str | None


async def presence(tx: Tx, meeting: int, member: str) -> Presence | None:
    row = await tx.one(
        "SELECT present, marked_by, reason FROM attendance WHERE meeting = ? AND member = ?",
        (meeting, member),
    )
    return Presence(bool(row[0]), str(row[1]), row[2]) if row else None


async def mark(tx: Tx, meeting: int, member: str, present: bool, reason: str) -> None:
    """The secretariat marks a member present or absent, with its reason."""
    await tx.execute(
        "INSERT INTO attendance (meeting, member, present, changed_at, marked_by, reason)"
        " VALUES (?, ?, ?, ?, 'secretariat', ?) ON CONFLICT(meeting, member) DO UPDATE SET"
        " present = excluded.present, changed_at = excluded.changed_at,"
        " marked_by = excluded.marked_by, reason = excluded.reason",
        (meeting, member, int(present), clock.iso(clock.now()), reason),
    )


async def marks(tx: Tx, meeting: int) -> dict[str, Presence]:
    """Every member's attendance row in a meeting: present or not, by whom, why."""
    rows = await tx.all(
        "SELECT member, present, marked_by, reason FROM attendance WHERE meeting = ?", (meeting,)
    )
    return {str(r[0]): Presence(bool(r[1]), str(r[2]), r[3]) for r in rows}


@dataclass(frozen=True)
class OpenQuestion:
    id: int
    meeting: int
    kind: str
    item: str | None
    election: int | None
    round: int
    secret: bool
    candidates: tuple[str, ...]
    turnout_chat: int | None


async def open_question(tx: Tx, question: int) -> OpenQuestion | None:
    """The question if it is still open."""
    row = await tx.one(
        "SELECT id, meeting, kind, item, election, round, secret, candidates, turnout_chat"
        " FROM questions WHERE id = ? AND closed_at IS NULL",
        (question,),
    )
    if row is None:
        return None
    return OpenQuestion(
        int(row[0]),
        int(row[1]),
        str(row[2]),
        row[3],
        row[4],
        int(row[5]),
        bool(row[6]),
        tuple(json.loads(row[7])) if row[7] else (),
        row[8],
    )


async def roll(tx: Tx, question: int) -> list[str]:
    rows = await tx.all("SELECT member FROM roll WHERE question = ? ORDER BY member", (question,))
    return [str(r[0]) for r in rows]


async def not_voted(tx: Tx, question: int) -> list[str]:
    """Roll members that have not voted yet."""
    rows = await tx.all(
        "SELECT member FROM roll WHERE question = ?1 AND member NOT IN"
        " (SELECT member FROM participation WHERE question = ?1) ORDER BY member",
        (question,),
    )
    return [str(r[0]) for r in rows]


async def voted_count(tx: Tx, question: int) -> int:
    row = await tx.one("SELECT count(*) FROM participation WHERE question = ?", (question,))
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class Recipient:
    telegram_id: int
    member: str
    language: str | None
    telegram_language: str | None


async def delegates_of(tx: Tx, members: Sequence[str]) -> list[Recipient]:
    """The accounts that speak for these members now (delegates and chairs)."""
    if not members:
        return []
    marks_ = ",".join("?" * len(members))
    rows = await tx.all(
        "SELECT telegram_id, member, language, telegram_language FROM users"
        f" WHERE role IN ('delegate', 'chair') AND member IN ({marks_}) ORDER BY telegram_id",
        tuple(members),
    )
    return [Recipient(int(r[0]), str(r[1]), r[2], r[3]) for r in rows]


async def withdraw(tx: Tx, question: int, result: dict[str, Any]) -> bool:
    """Close an open question as withdrawn; False if it was closed meanwhile."""
    now = clock.iso(clock.now())
    changed = await tx.execute(
        "UPDATE questions SET closed_at = ?, withdrawn_at = ?, result = ? WHERE id = ?"
        " AND closed_at IS NULL",
        (now, now, json.dumps(result), question),
    )
    return bool(changed)


# --- deadlines ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    question: int
    deadline_at: datetime
    remind_at: datetime | None
    reminded_at: datetime | None
    told_at: datetime | None


def _time(value: object) -> datetime | None:
    return clock.parse(str(value)) if value else None


def _deadline(row: Any) -> Deadline:
    at = _time(row[1])
    assert at is not None
    return Deadline(int(row[0]), at, _time(row[2]), _time(row[3]), _time(row[4]))


_DEADLINE_FIELDS = "question, deadline_at, remind_at, reminded_at, told_at"


async def set_deadline(
    tx: Tx, question: int, deadline_at: datetime, remind_at: datetime | None
) -> None:
    await tx.execute(
        "INSERT INTO vote_deadlines (question, deadline_at, remind_at) VALUES (?, ?, ?)",
        (question, clock.iso(deadline_at), clock.iso(remind_at) if remind_at else None),
    )


async def deadline(tx: Tx, question: int) -> Deadline | None:
    row = await tx.one(
        f"SELECT {_DEADLINE_FIELDS} FROM vote_deadlines WHERE question = ?", (question,)
    )
    return _deadline(row) if row else None


async def pending_deadlines(tx: Tx) -> list[Deadline]:
    """Deadlines of open questions whose reminder or chair's notice is still to come."""
    rows = await tx.all(
        f"SELECT d.{_DEADLINE_FIELDS.replace(', ', ', d.')} FROM vote_deadlines d"
        " JOIN questions q ON q.id = d.question WHERE q.closed_at IS NULL"
        " AND (d.told_at IS NULL OR (d.remind_at IS NOT NULL AND d.reminded_at IS NULL))"
    )
    return [_deadline(r) for r in rows]


async def mark_reminded(tx: Tx, question: int) -> bool:
    """The automatic reminder, once."""
    changed = await tx.execute(
        "UPDATE vote_deadlines SET reminded_at = ? WHERE question = ? AND reminded_at IS NULL",
        (clock.iso(clock.now()), question),
    )
    return bool(changed)


async def mark_told(tx: Tx, question: int) -> bool:
    """The chair's notice at the deadline, once."""
    changed = await tx.execute(
        "UPDATE vote_deadlines SET told_at = ? WHERE question = ? AND told_at IS NULL",
        (clock.iso(clock.now()), question),
    )
    return bool(changed)


# --- a marking waiting for its meeting or its reason -------------------------------------

_PENDING = "attendance"


async def save_pending(db: Database, telegram_id: int, data: dict[str, Any]) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO drafts (telegram_id, kind, data, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(telegram_id, kind) DO UPDATE SET data = excluded.data,"
            " updated_at = excluded.updated_at",
            (telegram_id, _PENDING, json.dumps(data), clock.iso(clock.now())),
        )


async def take_pending(db: Database, telegram_id: int, max_age: float) -> dict[str, Any] | None:
    """The pending marking, removed as it is read; None if there is none or it is older
    than ``max_age`` seconds."""
    async with db.transaction() as tx:
        row = await tx.one(
            "SELECT data, updated_at FROM drafts WHERE telegram_id = ? AND kind = ?",
            (telegram_id, _PENDING),
        )
        if row is None:
            return None
        await tx.execute(
            "DELETE FROM drafts WHERE telegram_id = ? AND kind = ?", (telegram_id, _PENDING)
        )
    if (clock.now() - clock.parse(str(row[1]))).total_seconds() > max_age:
        return None
    data: dict[str, Any] = json.loads(row[0])
    return data


async def has_pending(db: Database, telegram_id: int) -> bool:
    row = await db.one(
        "SELECT 1 FROM drafts WHERE telegram_id = ? AND kind = ?", (telegram_id, _PENDING)
    )
    return row is not None
