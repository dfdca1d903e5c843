"""Vote deadlines (SPEC, settled reading): a deadline never closes a vote by itself.
Roll members that have not voted are reminded a few minutes before (``REMINDER_MINUTES``),
or whenever the chair asks (/remind); at the deadline the chair is told, with the turnout.
Deadlines are stored, so they survive a restart."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot import clock, i18n, outbox
from bot.store import Database, Tx, audit
from bot.store import session as store


def reminder_time(opened: datetime, deadline: datetime, minutes: float) -> datetime | None:
    """``minutes`` before the deadline; none when that is not after the opening (a vote
    shorter than the reminder's lead: the ballot itself has just arrived)."""
    if minutes <= 0:
        return None
    at = deadline - timedelta(minutes=minutes)
    return at if at > opened else None


@dataclass(frozen=True)
class DeadlinePlan:
    """What the chair asked for when opening a vote: a deadline ``minutes`` from now, and
    the reminder ``reminder_minutes`` before it (the ``REMINDER_MINUTES`` setting)."""

    minutes: float
    reminder_minutes: float


async def set_deadline(
    tx: Tx, question: int, plan: DeadlinePlan, *, actor_id: int | None
) -> store.Deadline:
    """Inside the transaction that opens the question, audited with it."""
    now = clock.now()
    deadline_at = now + timedelta(minutes=plan.minutes)
    remind_at = reminder_time(now, deadline_at, plan.reminder_minutes)
    await store.set_deadline(tx, question, deadline_at, remind_at)
    await audit.append(
        tx,
        "vote_deadline_set",
        {
            "question": question,
            "deadline_at": clock.iso(deadline_at),
            "remind_at": clock.iso(remind_at) if remind_at else None,
        },
        actor_id=actor_id,
        actor=None if actor_id else "bot",
    )
    found = await store.deadline(tx, question)
    assert found is not None
    return found


@dataclass(frozen=True)
class Reminded:
    question: int
    members: tuple[str, ...]  # roll members that have not voted
    accounts: int  # their delegates' accounts, each reminded


@dataclass(frozen=True)
class RemindRefused:
    reason: Literal["closed", "already_reminded", "everyone_voted"]


async def remind(
    db: Database,
    question: int,
    texts: Mapping[str, str],
    *,
    automatic: bool,
    actor_id: int | None = None,
) -> Reminded | RemindRefused:
    """Queue a reminder to every delegate of every roll member that has not voted.
    The automatic one (before the deadline) is sent once, also across a restart."""
    async with db.transaction() as tx:
        if await store.open_question(tx, question) is None:
            return RemindRefused("closed")
        if automatic and not await store.mark_reminded(tx, question):
            return RemindRefused("already_reminded")
        members = await store.not_voted(tx, question)
        if not members:
            return RemindRefused("everyone_voted")
        messages = []
        for r in await store.delegates_of(tx, members):
            language = r.language or i18n.language_from_telegram(r.telegram_language)
            messages.append(
                outbox.Outgoing(r.telegram_id, language, texts[language], member=r.member)
            )
        await outbox.queue_in(tx, "reminder", messages, ref=f"reminder:{question}", actor="bot")
        await audit.append(
            tx,
            "vote_reminder",
            {"question": question, "members": members, "automatic": automatic},
            actor_id=actor_id,
            actor=None if actor_id else "bot",
        )
    outbox.wake()
    return Reminded(question, tuple(members), len(messages))


@dataclass(frozen=True)
class ChairTold:
    question: int
    voted: int
    roll: int
    chat: int | None


@dataclass(frozen=True)
class DeadlineNotDue:
    reason: Literal["closed", "already_told", "no_deadline"]


async def deadline_reached(
    db: Database, question: int, render: Callable[[str, int, int], str], language_of: str
) -> ChairTold | DeadlineNotDue:
    """At the deadline, once: the chair who opened the vote is told the turnout; the vote
    stays open until the chair closes it. ``render(language, voted, roll)``."""
    async with db.transaction() as tx:
        found = await store.open_question(tx, question)
        if found is None:
            return DeadlineNotDue("closed")
        if await store.deadline(tx, question) is None:
            return DeadlineNotDue("no_deadline")
        if not await store.mark_told(tx, question):
            return DeadlineNotDue("already_told")
        roll = len(await store.roll(tx, question))
        voted = await store.voted_count(tx, question)
        if found.turnout_chat is not None:
            text = render(language_of, voted, roll)
            await outbox.queue_in(
                tx,
                "deadline",
                [outbox.Outgoing(found.turnout_chat, language_of, text)],
                ref=f"deadline:{question}",
                actor="bot",
            )
        await audit.append(
            tx,
            "vote_deadline_reached",
            {"question": question, "voted": voted, "roll": roll},
            actor="bot",
        )
    outbox.wake()
    return ChairTold(question, voted, roll, found.turnout_chat)


async def pending(db: Database) -> list[store.Deadline]:
    """Deadlines whose reminder or chair's notice is still due (at start, after a restart)."""
    async with db.snapshot() as tx:
        return await store.pending_deadlines(tx)


async def deadline_of(db: Database, question: int) -> store.Deadline | None:
    async with db.snapshot() as tx:
        return await store.deadline(tx, question)
