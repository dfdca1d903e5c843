"""Meetings: attendance, the quorum call (R3, R4), reconvening, and notices to a body.

Each function is one decision in one write transaction (see ``bot.usecases``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot import clock, outbox, rules
from bot import meetings as core
from bot.meetings import QuorumState
from bot.store import Database
from bot.store import meetings as store
from bot.store.meetings import Meeting, Question
from bot.usecases import checkpoint
from bot.usecases.notices import queue_to_body

# --- attendance --------------------------------------------------------------------------


@dataclass(frozen=True)
class Presence:
    changed: bool  # False: the member was already checked in (or not checked in)
    voting_right: bool  # whether the member holds a voting right in this body
    open_question: Question | None  # a vote open now, whose roll the member is not on


async def set_presence(
    db: Database,
    meeting_id: int,
    member: str,
    present: bool,
    *,
    actor_id: int,
    year: int,
    years: int,
) -> Presence:
    """Check a member in or out of a meeting (per member: any of its delegates)."""
    async with db.transaction() as tx:
        meeting = await store.get_meeting(tx.db, meeting_id)
        assert meeting is not None
        changed = await store.set_attendance(tx.db, meeting_id, member, present, actor_id)
        facts = await core.body_facts(tx.db, meeting.body, year, years)
        question = await store.open_question_of(tx.db, meeting_id)
        if question is not None and member in await store.roll_of(tx.db, question.id):
            question = None
    return Presence(changed, member in facts.voting, question)


# --- the quorum call ---------------------------------------------------------------------

QuorumStatus = Literal[
    "opened",  # quorate (or valid after reconvening): the meeting is in session
    "postponed",  # not quorate at the first call: postponed once, the body is told
    "inquorate",  # after the postponement, nobody who counts attends yet
    "in_session",  # already in session: nothing to decide
    "postponed_already",  # postponed and not yet reconvened: it reconvenes by itself
    "meeting_closed",
]


@dataclass(frozen=True)
class QuorumCall:
    status: QuorumStatus
    meeting: Meeting | None = None  # as it stands after the call
    state: QuorumState | None = None  # the count the decision was made on
    postponed_until: datetime | None = None


PostponedNotice = Callable[[Meeting, QuorumState, datetime], str]


async def call_quorum(
    db: Database,
    meeting_id: int,
    *,
    actor_id: int | None,
    year: int,
    years: int,
    postponement_minutes: float,
    postponed_notice: PostponedNotice,
) -> QuorumCall:
    """The chair calls the quorum (R3). Not quorate at the first call: postponed by two
    hours, once, and every delegate of the body is told in the same transaction (R4).
    Two calls at once are one decision: the second finds it made."""
    async with db.transaction() as tx:
        meeting = await store.get_meeting(tx.db, meeting_id)
        if meeting is None or meeting.closed_at is not None:
            return QuorumCall("meeting_closed", meeting)
        if meeting.in_session_at is not None:
            return QuorumCall("in_session", meeting)
        if meeting.postponed_until is not None and meeting.reconvened_at is None:
            return QuorumCall("postponed_already", meeting, postponed_until=meeting.postponed_until)
        state = await core.quorum_state(tx.db, meeting, year, years)
        decision = rules.quorum_call(state.quorum, reconvened=state.reconvened)
        details = {
            "base": state.quorum.base,
            "needed": state.quorum.needed,
            "counted": state.quorum.attending,
            "attending": list(state.attending),
        }
        await checkpoint("call_quorum")
        until = None
        if decision == "postpone":
            await store.record_quorum_call(
                tx.db,
                meeting.id,
                "postpone",
                details,
                actor_id,
                postponed_until=rules.reconvene_at(clock.now(), postponement_minutes),
            )
        else:
            await store.record_quorum_call(tx.db, meeting.id, decision, details, actor_id)
        fresh = await store.get_meeting(tx.db, meeting.id)
        assert fresh is not None
        if decision == "postpone":
            until = fresh.postponed_until
            assert until is not None
            await queue_to_body(
                tx,
                fresh,
                "postponed",
                lambda: postponed_notice(fresh, state, until),
                year=year,
                years=years,
            )
    if until is not None:
        outbox.wake()
    status: QuorumStatus = {"open": "opened", "postpone": "postponed", "inquorate": "inquorate"}[
        decision
    ]  # type: ignore[assignment]
    return QuorumCall(status, fresh, state, until)


@dataclass(frozen=True)
class Reconvened:
    reconvened: bool  # False: already reconvened, closed, or never postponed
    in_session: bool = False
    meeting: Meeting | None = None


ReconvenedNotice = Callable[[Meeting, bool], str]


async def reconvene(
    db: Database, meeting_id: int, *, year: int, years: int, notice: ReconvenedNotice
) -> Reconvened:
    """R4: at the end of the postponement the meeting reconvenes, once, valid with any
    attending member that counts; every delegate of the body is told."""
    async with db.transaction() as tx:
        meeting = await store.get_meeting(tx.db, meeting_id)
        if (
            meeting is None
            or meeting.postponed_until is None
            or meeting.reconvened_at is not None
            or meeting.closed_at is not None
        ):
            return Reconvened(False, meeting=meeting)
        state = await core.quorum_state(tx.db, meeting, year, years)
        in_session = rules.reconvened_valid(
            meeting.body, len(state.attending_voting), len(state.attending)
        )
        await store.reconvene(tx.db, meeting.id, in_session)
        await queue_to_body(
            tx, meeting, "reconvened", lambda: notice(meeting, in_session), year=year, years=years
        )
        fresh = await store.get_meeting(tx.db, meeting.id)
    outbox.wake()
    return Reconvened(True, in_session, fresh)


async def notify_body(
    db: Database,
    meeting: Meeting,
    kind: str,
    render: Callable[[], str],
    *,
    year: int,
    years: int,
    ref: str | None = None,
    photos: Mapping[str, bytes] | None = None,
) -> int:
    """Queue a notice to every delegate of the meeting's body; returns the notice id."""
    async with db.transaction() as tx:
        notice = await queue_to_body(
            tx, meeting, kind, render, year=year, years=years, ref=ref, photos=photos
        )
    outbox.wake()
    return notice


@dataclass(frozen=True)
class Adjourned:
    status: Literal["closed", "vote_open", "already_closed"]


async def adjourn(db: Database, meeting_id: int, *, actor_id: int | None) -> Adjourned:
    """Close the meeting, unless a vote is still open in it."""
    async with db.transaction() as tx:
        try:
            closed = await store.close_meeting(tx.db, meeting_id, actor_id=actor_id)
        except store.QuestionStillOpen:
            return Adjourned("vote_open")
    return Adjourned("closed" if closed else "already_closed")
