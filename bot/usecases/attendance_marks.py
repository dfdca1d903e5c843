"""Attendance by hand (SPEC, settled reading): the secretariat marks a member present or
absent, audited with its reason. Such a member counts for the quorum and, at a vote's
opening, is on the roll; it votes only through its own delegates' accounts (R5)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from bot.store import Database, audit
from bot.store import session as store


@dataclass(frozen=True)
class AttendanceMarked:
    meeting: int
    member: str
    present: bool
    delegates: int  # accounts that can vote for the member
    late_for: int | None  # a vote open now whose roll (fixed at its opening) lacks the member


@dataclass(frozen=True)
class AttendanceRefused:
    reason: Literal["meeting_closed", "not_seated", "unchanged"]
    marked_by: str | None = None


async def mark(
    db: Database,
    meeting: int,
    member: str,
    present: bool,
    reason: str,
    *,
    seated: Collection[str],
    actor_id: int,
) -> AttendanceMarked | AttendanceRefused:
    """One decision: read the meeting and the member's attendance, write, audit."""
    async with db.transaction() as tx:
        open_meeting = await tx.one(
            "SELECT 1 FROM meetings WHERE id = ? AND closed_at IS NULL", (meeting,)
        )
        if open_meeting is None:
            return AttendanceRefused("meeting_closed")
        if member not in seated:
            return AttendanceRefused("not_seated")
        before = await store.presence(tx, meeting, member)
        if (before is not None and before.present == present) or (before is None and not present):
            return AttendanceRefused("unchanged", before.marked_by if before else None)
        await store.mark(tx, meeting, member, present, reason)
        await audit.append(
            tx,
            "attendance_marked",
            {"meeting": meeting, "present": present, "reason": reason},
            actor_id=actor_id,
            member=member,
        )
        delegates = len(await store.delegates_of(tx, [member]))
        question = await tx.one(
            "SELECT q.id FROM questions q WHERE q.meeting = ? AND q.closed_at IS NULL AND NOT"
            " EXISTS (SELECT 1 FROM roll r WHERE r.question = q.id AND r.member = ?)",
            (meeting, member),
        )
    return AttendanceMarked(
        meeting, member, present, delegates, int(question[0]) if question and present else None
    )
