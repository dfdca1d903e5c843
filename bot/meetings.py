"""Meetings: who sits in which body, the current meeting, quorum, the roll and the count.

Everything the statute decides is asked of ``bot.rules``; this module gathers the facts
from storage and records the decisions.
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from bot import clock, rules
from bot.registry import Member
from bot.store import Database, registry, session
from bot.store import meetings as store
from bot.store.meetings import AgendaItem, Meeting, Question

AGENDA_COLUMNS = ("item", "title_en", "title_fr", "title_ar")


@dataclass(frozen=True)
class BodyFacts:
    """Who sits in a body now, and who of them holds a voting right (R1, R2)."""

    body: str
    members: dict[str, Member]
    seated: tuple[str, ...]
    voting: frozenset[str]
    host: str | None


async def gc_host(db: Database, now: datetime) -> str | None:
    """The chair member of a General Conference session that has started and is not closed."""
    for meeting in await store.open_meetings(db):
        if meeting.body == "gc" and meeting.starts_at <= now:
            return meeting.chair_member
    return None


async def body_facts(
    db: Database, body: str, current_year: int, years: int, now: datetime | None = None
) -> BodyFacts:
    now = now or clock.now()
    members = {m.code: m for m in await registry.members(db)}
    ledger = await registry.all_dues(db)
    standing = {
        code
        for code, m in members.items()
        if rules.good_standing(
            m.facts, [r.line for r in ledger.get(code, [])], current_year, years
        ).ok
    }
    host = await gc_host(db, now) if body == "council" else None
    facts = [m.facts for m in members.values()]
    seated = rules.body_members(body, facts, host)  # type: ignore[arg-type]
    voting = rules.voting_members(body, facts, standing, host)  # type: ignore[arg-type]
    return BodyFacts(body, members, seated, voting, host)


def current(meeting: Meeting, now: datetime) -> bool:
    """Created, its start time passed, not closed."""
    return meeting.closed_at is None and meeting.starts_at <= now


async def current_meetings(
    db: Database, member: str | None, current_year: int, years: int, now: datetime | None = None
) -> list[Meeting]:
    """The current meetings of the bodies ``member`` sits in (every one for ``None``)."""
    now = now or clock.now()
    found = [m for m in await store.open_meetings(db) if current(m, now)]
    if member is None:
        return found
    bodies = {
        body
        for body in ("gc", "council")
        if member in (await body_facts(db, body, current_year, years, now)).seated
    }
    return [m for m in found if m.body in bodies]


@dataclass(frozen=True)
class QuorumState:
    meeting: Meeting
    facts: BodyFacts
    attending: tuple[str, ...]
    attending_voting: tuple[str, ...]
    quorum: rules.Quorum

    @property
    def reconvened(self) -> bool:
        return self.meeting.reconvened_at is not None

    @property
    def valid(self) -> bool:
        """Quorate (R3), or after reconvening any counted member attends (R4)."""
        if self.reconvened:
            return rules.reconvened_valid(
                self.meeting.body, len(self.attending_voting), len(self.attending)
            )
        return self.quorum.quorate

    def as_json(self) -> dict[str, Any]:
        return {
            "meeting": self.meeting.as_json(),
            "body": self.meeting.body,
            "base": self.quorum.base,
            "needed": self.quorum.needed,
            "counted": self.quorum.attending,
            "attending": list(self.attending),
            "attending_voting": list(self.attending_voting),
            "quorate": self.quorum.quorate,
            "reconvened": self.reconvened,
            "valid": self.valid,
            "in_session": self.meeting.in_session_at is not None,
            "postponed_until": clock.iso(self.meeting.postponed_until)
            if self.meeting.postponed_until
            else None,
        }


async def quorum_state(
    db: Database, meeting: Meeting, current_year: int, years: int
) -> QuorumState:
    facts = await body_facts(db, meeting.body, current_year, years)
    present = [m for m in await store.attending(db, meeting.id) if m in facts.seated]
    q = rules.meeting_quorum(meeting.body, present, facts.seated, facts.voting)  # type: ignore[arg-type]
    return QuorumState(
        meeting, facts, tuple(present), tuple(m for m in present if m in facts.voting), q
    )


def parse_agenda(text: str) -> list[AgendaItem]:
    """Agenda CSV (item,title_en,title_fr,title_ar); raises ImportProblem with the line."""
    from bot.registry import ImportProblem, csv_rows

    items: list[AgendaItem] = []
    seen: set[str] = set()
    for line, row in csv_rows(text, AGENDA_COLUMNS):
        item = row["item"].strip()
        if not item or len(item) > 16 or not all(c.isalnum() or c in "-_." for c in item):
            raise ImportProblem(line, "item must be 1-16 letters, digits, '.', '-' or '_'")
        if item in seen:
            raise ImportProblem(line, f"item {item} appears twice")
        seen.add(item)
        for column in ("title_en", "title_fr", "title_ar"):
            if not row[column]:
                raise ImportProblem(line, f"{column} is empty")
        items.append(AgendaItem(item, row["title_en"], row["title_fr"], row["title_ar"]))
    if not items:
        raise ImportProblem(0, "no agenda items in the file")
    return items


def new_receipt() -> str:
    """A receipt code: 10 characters from an alphabet without look-alikes."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


# --- counting ----------------------------------------------------------------------------


async def count_resolution(db: Database, question: Question, chair_member: str) -> dict[str, Any]:
    """R7 on the stored votes. For a secret tie the result is 'pending' until the chair's
    casting vote (asked for after the count)."""
    roll = await store.roll_of(db, question.id)
    if question.secret:
        ballots = await store.ballots(db, question.id)
        choices = [c for _, c in ballots]
        chair_vote = None
        votes: list[dict[str, str]] = []
        receipts = sorted(r for r, _ in ballots)
    else:
        recorded = await store.open_votes(db, question.id)
        choices = list(recorded.values())
        chair_vote = _choice_word(recorded.get(chair_member))
        votes = [{"member": m, "choice": _choice_word(c) or c} for m, c in sorted(recorded.items())]
        receipts = []
    tally = {
        word: sum(1 for c in choices if _choice_word(c) == word)
        for word in ("yes", "no", "abstain")
    }
    result = rules.resolution_result(
        len(roll),
        tally["yes"],
        tally["no"],
        tally["abstain"],
        cast(rules.Choice | None, chair_vote),
    )
    pending = question.secret and rules.needs_chair_casting_vote(
        len(roll), tally["yes"], tally["no"]
    )
    voted = await store.voted(db, question.id)
    return {
        "id": question.id,
        "kind": "resolution",
        "item": question.item,
        "round": question.round,
        "secret": question.secret,
        "roll": result.roll,
        "roll_members": roll,
        "tally": tally,
        "silent": result.silent,
        "threshold": result.threshold,
        "outcome": "pending" if pending else result.outcome,
        "elected": [],
        "runoff": [],
        "tie": result.tie,
        "tie_broken_by_chair": result.tie_broken_by_chair,
        "votes": votes,
        "receipts": receipts,
        "voted": voted,
        "not_voted": [m for m in roll if m not in set(voted)],
    }


def settle_resolution(data: dict[str, Any], chair_choice: str) -> dict[str, Any]:
    """The chair's casting vote on a tied secret resolution (R7, settled reading)."""
    tally = data["tally"]
    base = rules.resolution_result(data["roll"], tally["yes"], tally["no"], tally["abstain"])
    settled = rules.casting_vote_resolution(base, chair_choice)  # type: ignore[arg-type]
    return {
        **data,
        "outcome": settled.outcome,
        "tie_broken_by_chair": True,
        "casting_vote": chair_choice,
    }


CHOICES = {"y": "yes", "n": "no", "a": "abstain"}


def _choice_word(code: str | None) -> str | None:
    return CHOICES.get(code or "", code)


# --- exports -----------------------------------------------------------------------------


async def attendance_export(
    db: Database, meeting: Meeting, current_year: int, years: int
) -> dict[str, Any]:
    state = await quorum_state(db, meeting, current_year, years)
    async with db.snapshot() as tx:
        marks = await session.marks(tx, meeting.id)
    data = state.as_json()
    data["members"] = [
        {
            "member": code,
            "attending": code in state.attending,
            "voting_right": code in state.facts.voting,
            # Who last marked the member present: its delegate or the secretariat (by hand).
            "checked_in_by": marks[code].marked_by if code in state.attending else None,
            "reason": marks[code].reason if code in marks else None,
        }
        for code in state.facts.seated
    ]
    return data


def attendance_csv(data: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "meeting",
            "member",
            "attending",
            "voting_right",
            "base",
            "needed",
            "quorate",
            "postponed_until",
            "checked_in_by",
            "reason",
        ]
    )
    for row in data["members"]:
        writer.writerow(
            [
                data["meeting"]["id"],
                row["member"],
                str(row["attending"]).lower(),
                str(row["voting_right"]).lower(),
                data["base"],
                data["needed"],
                str(data["quorate"]).lower(),
                data["postponed_until"] or "",
                row["checked_in_by"] or "",
                row["reason"] or "",
            ]
        )
    return out.getvalue()


async def results_export(db: Database, meeting: Meeting) -> dict[str, Any]:
    questions = []
    for question in await store.questions_of(db, meeting.id):
        if question.result is None:
            continue
        data = {k: v for k, v in question.result.items() if k not in ("voted", "not_voted")}
        data["closed_at"] = clock.iso(question.closed_at) if question.closed_at else None
        questions.append(data)
    return {"meeting": meeting.as_json(), "questions": questions}


def results_csv(data: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "question",
            "kind",
            "item",
            "round",
            "secret",
            "roll",
            "choice",
            "count",
            "outcome",
            "elected",
            "tie_broken_by_chair",
        ]
    )
    for q in data["questions"]:
        for choice, number in q["tally"].items():
            writer.writerow(
                [
                    q["id"],
                    q["kind"],
                    q.get("item") or "",
                    q.get("round", 1),
                    str(q["secret"]).lower(),
                    q["roll"],
                    choice,
                    number,
                    q["outcome"],
                    str(choice in q.get("elected", [])).lower(),
                    str(q["tie_broken_by_chair"]).lower(),
                ]
            )
    return out.getvalue()
