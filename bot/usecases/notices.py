"""Queueing a notice to the delegates of a body or of a roll, each in their language.

These run inside the caller's transaction (``tx``): the notice is written together with
the decision it announces, or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from bot import i18n, meetings, outbox
from bot.store import Tx, people
from bot.store.meetings import Meeting


@dataclass(frozen=True)
class Recipient:
    """A delegate's account (chairs included) of a member, and the language it reads."""

    telegram_id: int
    member: str
    language: str


def language_of(account: people.Account) -> str:
    return account.language or i18n.language_from_telegram(account.telegram_language)


async def delegates_of(tx: Tx, members: Collection[str]) -> list[Recipient]:
    """Every delegate account of ``members``, in account order."""
    wanted = set(members)
    return [
        Recipient(a.telegram_id, a.member, language_of(a))
        for a in await people.registered(tx.db)
        if a.member in wanted and a.role in ("delegate", "chair")
    ]


async def chairs_of(tx: Tx, member: str) -> list[Recipient]:
    """The chair accounts of ``member`` (who give the chair's casting vote)."""
    return [
        Recipient(a.telegram_id, member, language_of(a))
        for a in await people.delegates_of(tx.db, member)
        if a.role == "chair"
    ]


async def body_recipients(tx: Tx, body: str, year: int, years: int) -> list[Recipient]:
    facts = await meetings.body_facts(tx.db, body, year, years)
    return await delegates_of(tx, facts.seated)


async def queue_to_body(
    tx: Tx,
    meeting: Meeting,
    kind: str,
    render: Callable[[], str],
    *,
    year: int,
    years: int,
    ref: str | None = None,
    photos: Mapping[str, bytes] | None = None,
) -> int:
    """Queue ``render()`` (called in each recipient's locale) to every delegate of the
    meeting's body; returns the notice id. The caller calls ``outbox.wake()`` after its
    commit."""
    messages = []
    for recipient in await body_recipients(tx, meeting.body, year, years):
        with i18n.use_locale(recipient.language):
            messages.append(
                outbox.Outgoing(
                    recipient.telegram_id,
                    recipient.language,
                    render(),
                    member=recipient.member,
                    photo=photos.get(recipient.language) if photos else None,
                )
            )
    return await outbox.queue_in(
        tx, kind, messages, ref=ref or f"meeting:{meeting.id}", actor="bot"
    )
