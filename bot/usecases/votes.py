"""Votes: opening a question with its roll and its ballots, casting, closing and counting,
the chair's casting vote on a tie, and announcing the result.

Each function is one decision in one write transaction (see ``bot.usecases``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot import elections as election_core
from bot import i18n, outbox, rules
from bot import meetings as core
from bot.store import Database, Tx, audit, registry
from bot.store import elections as store_elections
from bot.store import meetings as store
from bot.store.meetings import Meeting, Question
from bot.usecases import checkpoint
from bot.usecases.deadlines import DeadlinePlan, set_deadline
from bot.usecases.notices import (
    Recipient,
    body_recipients,
    chairs_of,
    delegates_of,
    queue_to_body,
)

RESOLUTION_CHOICES = ("y", "n", "a")

# Renders one delegate's fresh ballot (text and buttons) inside the opening transaction;
# given the transaction's view of the database, so it reads what is being written.
BallotRenderer = Callable[[Database, Question, Meeting, Recipient], Awaitable[outbox.Outgoing]]


# --- opening -----------------------------------------------------------------------------

OpenStatus = Literal[
    "opened",  # the question is open, its roll fixed and every ballot queued
    "already_open",  # another question of the meeting is open
    "not_in_session",  # the chair has not opened the meeting (quorum) yet
    "meeting_closed",
    "not_on_agenda",  # R8, or an item the agenda does not have
    "nobody",  # nobody attending holds a voting right
    "no_election",  # no such election in this meeting
    "decided",  # the election has its result: no further round
]


@dataclass(frozen=True)
class Opened:
    status: OpenStatus
    question: Question | None = None
    roll: tuple[str, ...] = ()
    ballots: int = 0  # delegates a ballot was queued for
    agenda: tuple[str, ...] = ()  # for "not_on_agenda": the items that are on it


async def open_resolution(
    db: Database,
    meeting_id: int,
    item: str,
    *,
    secret: bool,
    actor_id: int | None,
    year: int,
    years: int,
    ballot: BallotRenderer,
    deadline: DeadlinePlan | None = None,
) -> Opened:
    """Open a vote on an agenda item (R6, R8), its roll fixed and every ballot queued,
    with its deadline if the chair gave one."""
    async with db.transaction() as tx:
        meeting = await store.get_meeting(tx.db, meeting_id)
        refused = _not_open(meeting)
        if refused is not None:
            return Opened(refused)
        assert meeting is not None
        agenda = [a.item for a in await store.agenda(tx.db, meeting.id)]
        if not rules.motion_allowed(meeting.kind, item, agenda):
            return Opened("not_on_agenda", agenda=tuple(agenda))
        opened = await open_in(
            tx,
            meeting,
            "resolution",
            secret=secret,
            item=item,
            actor_id=actor_id,
            year=year,
            years=years,
            ballot=ballot,
        )
        if deadline is not None and opened.question is not None:
            await set_deadline(tx, opened.question.id, deadline, actor_id=actor_id)
    outbox.wake()
    return opened


def _not_open(meeting: Meeting | None) -> OpenStatus | None:
    if meeting is None or meeting.closed_at is not None:
        return "meeting_closed"
    if meeting.in_session_at is None:
        return "not_in_session"
    return None


async def open_election_round(
    db: Database,
    meeting_id: int,
    election_id: int,
    *,
    actor_id: int | None,
    year: int,
    years: int,
    ballot: BallotRenderer,
    deadline: DeadlinePlan | None = None,
) -> Opened:
    """Open the election's first round, or its next one among those tied (R10, R11)."""
    async with db.transaction() as tx:
        meeting = await store.get_meeting(tx.db, meeting_id)
        election = await store_elections.get_election(tx.db, election_id)
        if election is None or meeting is None or election.meeting != meeting.id:
            return Opened("no_election")
        refused = _not_open(meeting)
        if refused is not None:
            return Opened(refused)
        rounds = await store.election_rounds(tx.db, election.id)
        if rounds and rounds[-1].closed_at is None:
            return Opened("already_open")
        if rounds and rounds[-1].outcome != "runoff":
            return Opened("decided")
        if rounds:
            last = rounds[-1].result or {}
            candidates = list(last["runoff"])
            seats = int(last.get("seats_left") or 1)
            round_no = rounds[-1].round + 1
        else:
            candidates = [c.code for c in await store_elections.candidates(tx.db, election.id)]
            seats, round_no = election.seats, 1
        opened = await open_in(
            tx,
            meeting,
            "council_election" if election.type == "council" else "single_election",
            secret=True,
            election=election.id,
            round_no=round_no,
            candidates=candidates,
            seats=seats if election.type == "council" else 1,
            actor_id=actor_id,
            year=year,
            years=years,
            ballot=ballot,
        )
        if deadline is not None and opened.question is not None:
            await set_deadline(tx, opened.question.id, deadline, actor_id=actor_id)
    outbox.wake()
    return opened


async def open_in(
    tx: Tx,
    meeting: Meeting,
    kind: str,
    *,
    secret: bool,
    actor_id: int | None,
    year: int,
    years: int,
    ballot: BallotRenderer,
    item: str | None = None,
    election: int | None = None,
    round_no: int = 1,
    candidates: Sequence[str] = (),
    seats: int | None = None,
) -> Opened:
    """Inside ``tx``: fix the roll (R6), open the question, and queue a ballot for every
    delegate of every member on the roll. A crash leaves either all of it or none."""
    state = await core.quorum_state(tx.db, meeting, year, years)
    roll = sorted(rules.voting_roll(state.attending, state.facts.seated, state.facts.voting))
    if not roll:
        return Opened("nobody")
    if await store.open_question_of(tx.db, meeting.id) is not None:
        return Opened("already_open")
    question_id = await store.open_question(
        tx.db,
        meeting.id,
        kind,
        roll,
        secret=secret,
        item=item,
        election=election,
        round_no=round_no,
        candidates=candidates,
        seats=seats,
        actor_id=actor_id,
    )
    question = await store.get_question(tx.db, question_id)
    assert question is not None
    await checkpoint("open")
    messages = [
        await ballot(tx.db, question, meeting, recipient)
        for recipient in await delegates_of(tx, roll)
    ]
    await outbox.queue_in(tx, "ballot", messages, ref=f"q:{question.id}", actor="bot")
    return Opened("opened", question, tuple(roll), len(messages))


# --- casting -----------------------------------------------------------------------------

CastStatus = Literal["recorded", "closed", "not_on_roll", "already_voted", "invalid"]


@dataclass(frozen=True)
class CastResult:
    status: CastStatus
    question: Question | None = None
    receipt: str | None = None  # a secret vote's receipt, given only when recorded

    @property
    def recorded(self) -> bool:
        return self.status == "recorded"


def stored_choice(question: Question, choice: str | Sequence[str]) -> str | None:
    """The choice as stored, if ``question`` offers it: a resolution's y, n or a; an
    election's distinct candidates of this round, at most its seats (none: blank)."""
    if question.kind == "resolution":
        return choice if isinstance(choice, str) and choice in RESOLUTION_CHOICES else None
    if isinstance(choice, str):
        return None
    chosen = list(choice)
    if len(set(chosen)) != len(chosen) or not set(chosen) <= set(question.candidates):
        return None
    if len(chosen) > election_core.max_choices(question):
        return None
    return json.dumps(sorted(chosen))


async def cast(
    db: Database, question_id: int, member: str, choice: str | Sequence[str], *, cast_by: int
) -> CastResult:
    """Record ``member``'s vote (R5), once, if the question is still open and offers the
    choice. A vote recorded here is always in the count: closing takes the same lock."""
    async with db.transaction() as tx:
        question = await store.get_question(tx.db, question_id)
        if question is None or question.closed_at is not None:
            return CastResult("closed", question)
        stored = stored_choice(question, choice)
        if stored is None:
            return CastResult("invalid", question)
        receipt = core.new_receipt() if question.secret else None
        try:
            await store.cast(tx.db, question.id, member, stored, cast_by=cast_by, receipt=receipt)
        except store.VoteRefused as refused:
            return CastResult(refused.reason, question)  # type: ignore[arg-type]
        await checkpoint("cast")
    return CastResult("recorded", question, receipt)


# --- closing and counting ----------------------------------------------------------------


@dataclass(frozen=True)
class Closed:
    status: Literal["closed", "none_open"]
    question: Question | None = None  # as closed, with its result

    @property
    def pending(self) -> bool:
        """A secret tie waits for the chair's casting vote."""
        return self.question is not None and self.question.outcome == "pending"


async def close_question(
    db: Database,
    meeting_id: int,
    *,
    actor_id: int | None,
    casting_prompt: BallotRenderer | None = None,
) -> Closed:
    """Close the meeting's open question and count it, in one transaction.

    Closing is decided first: from then on every vote is refused with "closed". The count
    then reads, in the same transaction, exactly the votes recorded before it, so a vote
    that was acknowledged is always counted and its receipt always published. A secret
    tie is left pending, and the chair's casting vote is asked for (``casting_prompt``,
    rendered for each chair delegate of the chair member) in the same transaction.
    """
    async with db.transaction() as tx:
        question = await store.open_question_of(tx.db, meeting_id)
        if question is None:
            return Closed("none_open")
        meeting = await store.get_meeting(tx.db, meeting_id)
        assert meeting is not None
        if not await store.mark_closed(tx.db, question.id):
            return Closed("none_open")
        await checkpoint("close")
        result = await count(tx.db, question, meeting)
        await store.record_result(tx.db, question.id, result["outcome"], result)
        sealed = await seal(tx, question, result)
        await audit.append(
            tx,
            "vote_closed",
            {"question": question.id, "outcome": result["outcome"], **sealed},
            actor_id=actor_id,
            actor=None if actor_id else "bot",
        )
        closed = await store.get_question(tx.db, question.id)
        assert closed is not None
        if closed.outcome == "pending" and casting_prompt is not None:
            messages = [
                await casting_prompt(tx.db, closed, meeting, chair)
                for chair in await chairs_of(tx, meeting.chair_member)
            ]
            await outbox.queue_in(
                tx, "casting_vote", messages, ref=f"cv:{question.id}", actor="bot"
            )
    outbox.wake()
    await after_close(db)
    return Closed("closed", closed)


async def seal(tx: Tx, question: Question, result: Mapping[str, Any]) -> dict[str, Any]:
    """R12 at rest, inside the closing transaction once the result is written: the place
    where the closed question's stored rows are made to reveal nothing by their order.
    Returns what the close audit entry records of it."""
    return {}


async def after_close(db: Database) -> None:
    """After the closing transaction is committed (journal housekeeping belongs here)."""


async def count(db: Database, question: Question, meeting: Meeting) -> dict[str, Any]:
    """The result of ``question`` from its stored votes (R7, R10, R11)."""
    if question.kind == "resolution":
        return await core.count_resolution(db, question, meeting.chair_member)
    election = await store_elections.get_election(db, question.election or 0)
    assert election is not None
    members = {m.code: m for m in await registry.members(db)}
    names = {c.code: c.name for c in await store_elections.candidates(db, election.id)}
    return await election_core.count(db, question, election, members, names)


# --- the chair's casting vote ------------------------------------------------------------


@dataclass(frozen=True)
class CastingVote:
    status: Literal["settled", "already_given", "invalid"]
    question: Question | None = None


def casting_choice_valid(question: Question, choice: str) -> bool:
    """Yes or No on a resolution; on an election one of the tied candidates (by its
    position in the round) or d to decline."""
    if question.kind == "resolution":
        return choice in ("y", "n")
    tied = (question.result or {}).get("runoff", [])
    return choice == "d" or (
        choice.isdigit()
        and int(choice) < len(question.candidates)
        and question.candidates[int(choice)] in tied
    )


async def casting_vote(
    db: Database, question_id: int, choice: str, *, chair_member: str, actor_id: int
) -> CastingVote:
    """The chair's casting vote on a tied secret vote (R7, R11): the first answer of a
    chair delegate of the meeting's chair member decides; any later one changes nothing."""
    async with db.transaction() as tx:
        question = await store.get_question(tx.db, question_id)
        meeting = await store.get_meeting(tx.db, question.meeting) if question else None
        if question is None or meeting is None or meeting.chair_member != chair_member:
            return CastingVote("invalid")
        if question.result is not None and "casting_vote" in question.result:
            return CastingVote("already_given", question)
        if question.outcome != "pending" or not casting_choice_valid(question, choice):
            return CastingVote("invalid", question)
        await checkpoint("casting_vote")
        if question.kind == "resolution":
            settled = core.settle_resolution(question.result or {}, core.CHOICES[choice])
        else:
            pick = None if choice == "d" else question.candidates[int(choice)]
            settled = election_core.settle_single(question.result or {}, pick)
        await store.settle_pending(tx.db, question.id, settled["outcome"], settled, actor_id)
        fresh = await store.get_question(tx.db, question.id)
    return CastingVote("settled", fresh)


# --- announcing --------------------------------------------------------------------------


@dataclass(frozen=True)
class Announced:
    status: Literal["announced", "already_announced", "pending", "not_closed"]
    question: Question | None = None
    recipients: int = 0


@dataclass(frozen=True)
class Announcement:
    """The result as rendered beforehand, per language: nothing left to fail inside."""

    texts: Mapping[str, str]
    charts: Mapping[str, bytes]
    chart_captions: Mapping[str, str]


async def announce(
    db: Database,
    question_id: int,
    announcement: Announcement,
    *,
    actor_id: int,
    year: int,
    years: int,
) -> Announced:
    """Mark the result announced and queue it (and its chart) to every delegate of the
    body, in one transaction: announced once, and never marked without being queued."""
    async with db.transaction() as tx:
        question = await store.get_question(tx.db, question_id)
        if (
            question is None
            or question.closed_at is None
            or question.result is None
            or question.withdrawn_at is not None  # withdrawn: nothing to announce
        ):
            return Announced("not_closed", question)
        if question.outcome == "pending":
            return Announced("pending", question)
        if question.announced_at is not None:
            return Announced("already_announced", question)
        meeting = await store.get_meeting(tx.db, question.meeting)
        assert meeting is not None
        await store.mark_announced(tx.db, question.id, actor_id)
        await checkpoint("announce")
        await queue_to_body(
            tx,
            meeting,
            "result",
            lambda: announcement.texts[i18n.current()],
            year=year,
            years=years,
            ref=f"result:{question.id}",
        )
        if announcement.charts:
            await queue_to_body(
                tx,
                meeting,
                "result",
                lambda: announcement.chart_captions[i18n.current()],
                year=year,
                years=years,
                ref=f"chart:{question.id}",
                photos=announcement.charts,
            )
        recipients = await body_recipients(tx, meeting.body, year, years)
    outbox.wake()
    return Announced("announced", question, len(recipients))
