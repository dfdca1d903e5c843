"""Withdrawing a question opened by mistake (SPEC, settled reading): before its close the
chair withdraws it; nothing is counted, its ballots stay in the record but are never
tallied, every roll member is told, and its ballots are refused from then on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from bot import i18n, outbox
from bot.store import Database, audit
from bot.store import session as store


@dataclass(frozen=True)
class Withdrawn:
    question: int
    roll: int
    voted: int
    told: int  # accounts the withdrawal is sent to


@dataclass(frozen=True)
class WithdrawRefused:
    reason: Literal["closed"]


async def withdraw(
    db: Database, question: int, texts: Mapping[str, str], *, actor_id: int
) -> Withdrawn | WithdrawRefused:
    """``texts``: the message to roll members' delegates, per language."""
    async with db.transaction() as tx:
        found = await store.open_question(tx, question)
        if found is None:
            return WithdrawRefused("closed")
        roll = await store.roll(tx, question)
        voted = await store.voted_count(tx, question)
        if found.kind == "resolution":
            tally = {"yes": 0, "no": 0, "abstain": 0}
        else:
            tally = dict.fromkeys(found.candidates, 0)
        result = {
            "id": question,
            "kind": found.kind,
            "item": found.item,
            "election": found.election,
            "round": found.round,
            "secret": found.secret,
            "roll": len(roll),
            "roll_members": roll,
            "tally": tally,
            "outcome": "withdrawn",
            "elected": [],
            "runoff": [],
            "tie_broken_by_chair": False,
            "votes": [],
            "receipts": [],
        }
        if not await store.withdraw(tx, question, result):
            return WithdrawRefused("closed")
        recipients = await store.delegates_of(tx, roll)
        messages = []
        for r in recipients:
            language = r.language or i18n.language_from_telegram(r.telegram_language)
            messages.append(
                outbox.Outgoing(r.telegram_id, language, texts[language], member=r.member)
            )
        await outbox.queue_in(tx, "withdrawn", messages, ref=f"withdrawn:{question}", actor="bot")
        await audit.append(
            tx,
            "vote_withdrawn",
            {"question": question, "roll": len(roll), "voted": voted},
            actor_id=actor_id,
        )
    outbox.wake()
    return Withdrawn(question, len(roll), voted, len(messages))
