"""Meetings, agendas, attendance, questions, the roll, votes and ballots."""

from __future__ import annotations

import json
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import clock
from bot.rules import Body, SessionKind
from bot.store import Database, Tx, audit


@dataclass(frozen=True)
class Meeting:
    id: int
    body: Body
    kind: SessionKind
    title: str
    starts_at: datetime
    timezone: str
    chair_member: str
    quorum_called_at: datetime | None
    postponed_until: datetime | None
    reconvened_at: datetime | None
    in_session_at: datetime | None
    closed_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return clock.iso(moment) if moment else None

        return {
            "id": self.id,
            "body": self.body,
            "kind": self.kind,
            "title": self.title,
            "starts_at": iso(self.starts_at),
            "timezone": self.timezone,
            "chair_member": self.chair_member,
            "quorum_called_at": iso(self.quorum_called_at),
            "postponed_until": iso(self.postponed_until),
            "reconvened_at": iso(self.reconvened_at),
            "in_session_at": iso(self.in_session_at),
            "closed_at": iso(self.closed_at),
        }


_MEETING_FIELDS = (
    "id, body, kind, title, starts_at, timezone, chair_member, quorum_called_at,"
    " postponed_until, reconvened_at, in_session_at, closed_at"
)


def _time(value: object) -> datetime | None:
    return clock.parse(str(value)) if value else None


def _meeting(row: Sequence[Any]) -> Meeting:
    starts = _time(row[4])
    assert starts is not None
    return Meeting(
        int(row[0]),
        typing.cast(Body, row[1]),  # the schema's CHECK allows only these values
        typing.cast(SessionKind, row[2]),
        str(row[3]),
        starts,
        str(row[5]),
        str(row[6]),
        _time(row[7]),
        _time(row[8]),
        _time(row[9]),
        _time(row[10]),
        _time(row[11]),
    )


@dataclass(frozen=True)
class AgendaItem:
    item: str
    title_en: str
    title_fr: str
    title_ar: str

    def title(self, language: str) -> str:
        return {"ar": self.title_ar, "fr": self.title_fr}.get(language, self.title_en)


async def create_meeting(
    db: Database,
    body: str,
    kind: str,
    title: str,
    starts_at: datetime,
    timezone: str,
    chair_member: str,
    agenda: Sequence[AgendaItem],
    *,
    actor: str = "cli",
) -> int:
    async with db.transaction() as tx:
        meeting = await tx.insert(
            "INSERT INTO meetings (body, kind, title, starts_at, timezone, chair_member,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                body,
                kind,
                title,
                clock.iso(starts_at),
                timezone,
                chair_member,
                clock.iso(clock.now()),
            ),
        )
        await _add_agenda(tx, meeting, agenda, 0)
        await audit.append(
            tx,
            "meeting_created",
            {
                "meeting": meeting,
                "body": body,
                "kind": kind,
                "title": title,
                "starts_at": clock.iso(starts_at),
                "agenda": [a.item for a in agenda],
            },
            actor=actor,
            member=chair_member,
        )
    return meeting


async def _add_agenda(tx: Tx, meeting: int, agenda: Sequence[AgendaItem], start: int) -> None:
    await tx.executemany(
        "INSERT INTO agenda_items (meeting, item, title_en, title_fr, title_ar, position)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (meeting, a.item, a.title_en, a.title_fr, a.title_ar, start + n)
            for n, a in enumerate(agenda)
        ],
    )


async def add_agenda(db: Database, meeting: int, agenda: Sequence[AgendaItem]) -> None:
    async with db.transaction() as tx:
        row = await tx.one(
            "SELECT coalesce(max(position), -1) + 1 FROM agenda_items WHERE meeting = ?",
            (meeting,),
        )
        await _add_agenda(tx, meeting, agenda, int(row[0]) if row else 0)
        await audit.append(
            tx,
            "agenda_extended",
            {"meeting": meeting, "items": [a.item for a in agenda]},
            actor="cli",
        )


async def agenda(db: Database, meeting: int) -> list[AgendaItem]:
    rows = await db.all(
        "SELECT item, title_en, title_fr, title_ar FROM agenda_items WHERE meeting = ?"
        " ORDER BY position",
        (meeting,),
    )
    return [AgendaItem(*map(str, row)) for row in rows]


async def get_meeting(db: Database, meeting: int) -> Meeting | None:
    row = await db.one(f"SELECT {_MEETING_FIELDS} FROM meetings WHERE id = ?", (meeting,))
    return _meeting(row) if row else None


async def open_meetings(db: Database) -> list[Meeting]:
    """Meetings not closed, started or not."""
    rows = await db.all(
        f"SELECT {_MEETING_FIELDS} FROM meetings WHERE closed_at IS NULL ORDER BY starts_at, id"
    )
    return [_meeting(r) for r in rows]


async def set_attendance(
    db: Database, meeting: int, member: str, present: bool, actor_id: int
) -> bool:
    """Check a member in or out; False when nothing changed."""
    async with db.transaction() as tx:
        row = await tx.one(
            "SELECT present FROM attendance WHERE meeting = ? AND member = ?", (meeting, member)
        )
        if row is not None and bool(row[0]) == present:
            return False
        if row is None and not present:
            return False
        await tx.execute(
            "INSERT INTO attendance (meeting, member, present, changed_at, marked_by, reason)"
            " VALUES (?, ?, ?, ?, 'delegate', NULL) ON CONFLICT(meeting, member) DO UPDATE SET"
            " present = excluded.present, changed_at = excluded.changed_at,"
            " marked_by = excluded.marked_by, reason = excluded.reason",
            (meeting, member, int(present), clock.iso(clock.now())),
        )
        await audit.append(
            tx,
            "checked_in" if present else "checked_out",
            {"meeting": meeting},
            actor_id=actor_id,
            member=member,
        )
    return True


async def attending(db: Database, meeting: int) -> list[str]:
    rows = await db.all(
        "SELECT member FROM attendance WHERE meeting = ? AND present = 1 ORDER BY member",
        (meeting,),
    )
    return [str(r[0]) for r in rows]


async def record_quorum_call(
    db: Database,
    meeting: int,
    outcome: str,
    details: dict[str, Any],
    actor_id: int | None,
    *,
    postponed_until: datetime | None = None,
) -> bool:
    """Store what a quorum call decided: 'open' puts the meeting in session, 'postpone'
    sets the single postponement (refused if there already was one)."""
    now = clock.iso(clock.now())
    async with db.transaction() as tx:
        if outcome == "postpone":
            assert postponed_until is not None
            changed = await tx.execute(
                "UPDATE meetings SET quorum_called_at = coalesce(quorum_called_at, ?),"
                " postponed_until = ? WHERE id = ? AND postponed_until IS NULL"
                " AND in_session_at IS NULL AND closed_at IS NULL",
                (now, clock.iso(postponed_until), meeting),
            )
        elif outcome == "open":
            changed = await tx.execute(
                "UPDATE meetings SET quorum_called_at = coalesce(quorum_called_at, ?),"
                " in_session_at = ? WHERE id = ? AND in_session_at IS NULL AND closed_at IS NULL",
                (now, now, meeting),
            )
        else:
            changed = await tx.execute(
                "UPDATE meetings SET quorum_called_at = coalesce(quorum_called_at, ?)"
                " WHERE id = ? AND closed_at IS NULL",
                (now, meeting),
            )
        if changed:
            await audit.append(
                tx,
                f"quorum_{outcome}",
                {"meeting": meeting, **details},
                actor_id=actor_id,
                actor=None if actor_id else "bot",
            )
    return bool(changed)


async def reconvene(db: Database, meeting: int, in_session: bool) -> bool:
    """Mark the meeting reconvened (once); in session too when R4 already holds."""
    now = clock.iso(clock.now())
    async with db.transaction() as tx:
        changed = await tx.execute(
            "UPDATE meetings SET reconvened_at = ?,"
            " in_session_at = CASE WHEN ? THEN ? ELSE in_session_at END"
            " WHERE id = ? AND postponed_until IS NOT NULL AND reconvened_at IS NULL"
            " AND closed_at IS NULL",
            (now, int(in_session), now, meeting),
        )
        if changed:
            await audit.append(
                tx,
                "meeting_reconvened",
                {"meeting": meeting, "in_session": in_session},
                actor="bot",
            )
    return bool(changed)


async def close_meeting(db: Database, meeting: int, *, actor_id: int | None = None) -> bool:
    async with db.transaction() as tx:
        open_question = await tx.one(
            "SELECT id FROM questions WHERE meeting = ? AND closed_at IS NULL", (meeting,)
        )
        if open_question is not None:
            raise QuestionStillOpen(int(open_question[0]))
        changed = await tx.execute(
            "UPDATE meetings SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
            (clock.iso(clock.now()), meeting),
        )
        if changed:
            await audit.append(
                tx,
                "meeting_closed",
                {"meeting": meeting},
                actor_id=actor_id,
                actor=None if actor_id else "cli",
            )
    return bool(changed)


class QuestionStillOpen(Exception):
    def __init__(self, question: int) -> None:
        super().__init__(f"question {question} is still open")
        self.question = question


# --- questions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    id: int
    meeting: int
    kind: str
    item: str | None
    election: int | None
    round: int
    secret: bool
    opened_at: datetime
    closed_at: datetime | None
    outcome: str | None
    result: dict[str, Any] | None
    announced_at: datetime | None
    turnout_chat: int | None
    turnout_message: int | None
    candidates: tuple[str, ...] = ()
    seats: int | None = None
    turnout_text: str | None = None
    withdrawn_at: datetime | None = None  # withdrawn by the chair: closed, nothing counted


_QUESTION_FIELDS = (
    "id, meeting, kind, item, election, round, secret, opened_at, closed_at, outcome, result,"
    " announced_at, turnout_chat, turnout_message, candidates, seats, turnout_text, withdrawn_at"
)


def _question(row: Sequence[Any]) -> Question:
    opened = _time(row[7])
    assert opened is not None
    return Question(
        int(row[0]),
        int(row[1]),
        str(row[2]),
        row[3],
        row[4],
        int(row[5]),
        bool(row[6]),
        opened,
        _time(row[8]),
        row[9],
        json.loads(row[10]) if row[10] else None,
        _time(row[11]),
        row[12],
        row[13],
        tuple(json.loads(row[14])) if row[14] else (),
        row[15],
        row[16],
        _time(row[17]),
    )


class AlreadyOpen(Exception):
    """Another question of the meeting is open."""


async def open_question(
    db: Database,
    meeting: int,
    kind: str,
    roll: Sequence[str],
    *,
    secret: bool,
    item: str | None = None,
    election: int | None = None,
    round_no: int = 1,
    candidates: Sequence[str] = (),
    seats: int | None = None,
    actor_id: int | None = None,
) -> int:
    import sqlite3

    async with db.transaction() as tx:
        try:
            question = await tx.insert(
                "INSERT INTO questions (meeting, kind, item, election, round, secret, opened_at,"
                " opened_by, candidates, seats) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    meeting,
                    kind,
                    item,
                    election,
                    round_no,
                    int(secret),
                    clock.iso(clock.now()),
                    actor_id,
                    json.dumps(list(candidates)) if candidates else None,
                    seats,
                ),
            )
        except sqlite3.IntegrityError:
            raise AlreadyOpen() from None
        await tx.executemany(
            "INSERT INTO roll (question, member) VALUES (?, ?)", [(question, m) for m in roll]
        )
        await audit.append(
            tx,
            "vote_opened",
            {
                "question": question,
                "meeting": meeting,
                "kind": kind,
                "item": item,
                "election": election,
                "round": round_no,
                "secret": secret,
                "roll": sorted(roll),
                "candidates": list(candidates),
            },
            actor_id=actor_id,
        )
    return question


async def get_question(db: Database, question: int) -> Question | None:
    row = await db.one(f"SELECT {_QUESTION_FIELDS} FROM questions WHERE id = ?", (question,))
    return _question(row) if row else None


async def questions_of(db: Database, meeting: int) -> list[Question]:
    rows = await db.all(
        f"SELECT {_QUESTION_FIELDS} FROM questions WHERE meeting = ? ORDER BY id", (meeting,)
    )
    return [_question(r) for r in rows]


async def open_question_of(db: Database, meeting: int) -> Question | None:
    row = await db.one(
        f"SELECT {_QUESTION_FIELDS} FROM questions WHERE meeting = ? AND closed_at IS NULL",
        (meeting,),
    )
    return _question(row) if row else None


async def roll_of(db: Database, question: int) -> list[str]:
    rows = await db.all("SELECT member FROM roll WHERE question = ? ORDER BY member", (question,))
    return [str(r[0]) for r in rows]


async def ballot_standing(db: Database, question: int, member: str) -> str:
    """'not_on_roll', 'already_voted' or 'may_vote', in one query."""
    row = await db.one(
        "SELECT EXISTS (SELECT 1 FROM roll WHERE question = ?1 AND member = ?2),"
        " EXISTS (SELECT 1 FROM participation WHERE question = ?1 AND member = ?2)",
        (question, member),
    )
    assert row is not None
    if not row[0]:
        return "not_on_roll"
    return "already_voted" if row[1] else "may_vote"


async def voted(db: Database, question: int) -> list[str]:
    rows = await db.all(
        "SELECT member FROM participation WHERE question = ? ORDER BY member", (question,)
    )
    return [str(r[0]) for r in rows]


class VoteRefused(Exception):
    """Why a vote was not recorded: 'closed', 'not_on_roll', 'already_voted'."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def cast(
    db: Database, question: int, member: str, choice: str, *, cast_by: int, receipt: str | None
) -> None:
    """Record a member's vote, once, atomically. For a secret vote (``receipt`` given) only
    the fact that the member voted is stored with the member; the choice goes into an
    unlinked ballot under the receipt."""
    import sqlite3

    async with db.transaction() as tx:
        state = await tx.one(
            "SELECT q.closed_at IS NULL, r.member IS NOT NULL FROM questions q"
            " LEFT JOIN roll r ON r.question = q.id AND r.member = ? WHERE q.id = ?",
            (member, question),
        )
        if state is None or not state[0]:
            raise VoteRefused("closed")
        if not state[1]:
            raise VoteRefused("not_on_roll")
        try:
            await tx.execute(
                "INSERT INTO participation (question, member) VALUES (?, ?)", (question, member)
            )
        except sqlite3.IntegrityError:
            raise VoteRefused("already_voted") from None
        if receipt is None:
            await tx.execute(
                "INSERT INTO votes (question, member, choice, cast_by) VALUES (?, ?, ?, ?)",
                (question, member, choice, cast_by),
            )
            details: dict[str, Any] = {"question": question, "choice": choice}
        else:
            await tx.execute(
                "INSERT INTO ballots (question, receipt, choice) VALUES (?, ?, ?)",
                (question, receipt, choice),
            )
            details = {"question": question}
        await audit.append(tx, "vote_cast", details, actor_id=cast_by, member=member)


async def open_votes(db: Database, question: int) -> dict[str, str]:
    rows = await db.all(
        "SELECT member, choice FROM votes WHERE question = ? ORDER BY member", (question,)
    )
    return {str(r[0]): str(r[1]) for r in rows}


async def ballots(db: Database, question: int) -> list[tuple[str, str]]:
    """(receipt, choice) of every secret ballot, in receipt order."""
    rows = await db.all(
        "SELECT receipt, choice FROM ballots WHERE question = ? ORDER BY receipt", (question,)
    )
    return [(str(r[0]), str(r[1])) for r in rows]


async def mark_closed(db: Database, question: int) -> bool:
    """Close the question to further votes, once; False when it was already closed."""
    async with db.transaction() as tx:
        changed = await tx.execute(
            "UPDATE questions SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
            (clock.iso(clock.now()), question),
        )
    return bool(changed)


async def record_result(db: Database, question: int, outcome: str, result: dict[str, Any]) -> None:
    """The count of a closed question (written in the transaction that closed it)."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE questions SET outcome = ?, result = ? WHERE id = ? AND closed_at IS NOT NULL",
            (outcome, json.dumps(result), question),
        )


async def settle_pending(
    db: Database, question: int, outcome: str, result: dict[str, Any], actor_id: int
) -> bool:
    """Record the chair's casting vote on a pending result, once (the first answer wins)."""
    async with db.transaction() as tx:
        changed = await tx.execute(
            "UPDATE questions SET outcome = ?, result = ? WHERE id = ? AND outcome = 'pending'",
            (outcome, json.dumps(result), question),
        )
        if changed:
            await audit.append(
                tx,
                "casting_vote",
                {"question": question, "outcome": outcome},
                actor_id=actor_id,
            )
    return bool(changed)


async def mark_announced(db: Database, question: int, actor_id: int) -> bool:
    async with db.transaction() as tx:
        changed = await tx.execute(
            "UPDATE questions SET announced_at = ? WHERE id = ? AND announced_at IS NULL",
            (clock.iso(clock.now()), question),
        )
        if changed:
            await audit.append(tx, "result_announced", {"question": question}, actor_id=actor_id)
    return bool(changed)


async def set_turnout_message(
    db: Database, question: int, chat: int, message: int, text: str
) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE questions SET turnout_chat = ?, turnout_message = ?, turnout_text = ?"
            " WHERE id = ?",
            (chat, message, text, question),
        )


async def set_turnout_text(db: Database, question: int, text: str) -> None:
    """The text the chair's turnout message now shows (so an unchanged one is not sent)."""
    async with db.transaction() as tx:
        await tx.execute("UPDATE questions SET turnout_text = ? WHERE id = ?", (text, question))


async def election_rounds(db: Database, election: int) -> list[Question]:
    rows = await db.all(
        f"SELECT {_QUESTION_FIELDS} FROM questions WHERE election = ? ORDER BY round, id",
        (election,),
    )
    return [_question(r) for r in rows]


async def latest_closed(db: Database, meetings: Sequence[int]) -> Question | None:
    if not meetings:
        return None
    marks = ",".join("?" * len(meetings))
    row = await db.one(
        f"SELECT {_QUESTION_FIELDS} FROM questions WHERE meeting IN ({marks})"
        " AND closed_at IS NOT NULL AND withdrawn_at IS NULL"
        " ORDER BY closed_at DESC, id DESC LIMIT 1",
        tuple(meetings),
    )
    return _question(row) if row else None


async def all_meetings(db: Database) -> list[Meeting]:
    rows = await db.all(f"SELECT {_MEETING_FIELDS} FROM meetings ORDER BY id")
    return [_meeting(r) for r in rows]


async def council_chair_member(db: Database, now: datetime) -> str | None:
    """The member that chairs the Administrative Council: the chair member of its latest
    session that has started (else of the next one)."""
    row = await db.one(
        "SELECT chair_member FROM meetings WHERE body = 'council'"
        " ORDER BY starts_at <= ? DESC, CASE WHEN starts_at <= ? THEN starts_at END DESC,"
        " starts_at, id DESC LIMIT 1",
        (clock.iso(now), clock.iso(now)),
    )
    return str(row[0]) if row else None
