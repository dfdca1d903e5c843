"""Elections (R10, R11, R12): candidates, ballots as selections, counting, the chart.

A ballot in progress lives in its buttons: each carries the selection it would make, as
a bit mask over the round's candidates in creation order. Nothing is kept in memory, and
every press is checked again (at most S choices, the voter's member on the roll).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

from bot import rules
from bot.registry import Member, normalize_code, valid_code
from bot.store import Database
from bot.store import meetings as store
from bot.store.elections import CandidateEntry, Election
from bot.store.meetings import Question


class CandidateProblem(ValueError):
    """A candidate refused when the election is created; ``code`` and ``reason`` say why."""

    def __init__(self, code: str, reason: str, details: tuple[rules.Reason, ...] = ()) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.details = details


def parse_candidates(text: str, people: bool) -> list[CandidateEntry]:
    """``A,B,...``: member codes, or for people ``CODE=Full name`` entries."""
    entries: list[CandidateEntry] = []
    for raw in text.split(","):
        raw = raw.strip()
        if not raw:
            continue
        code, _, name = raw.partition("=")
        code = normalize_code(code)
        if not valid_code(code):
            raise CandidateProblem(code or raw, "a candidate code is letters, digits, - or _")
        if people and not name.strip():
            raise CandidateProblem(code, "a person is given as CODE=Full name")
        if any(e.code == code for e in entries):
            raise CandidateProblem(code, "appears twice")
        entries.append(CandidateEntry(code, name.strip() or None))
    if len(entries) < 1:
        raise CandidateProblem("", "no candidates")
    if len(entries) > 60:
        raise CandidateProblem("", "at most 60 candidates")
    return entries


def check_council_candidates(
    entries: Sequence[CandidateEntry],
    members: dict[str, Member],
    ledger: dict[str, list[rules.DuesLine]],
    current_year: int,
) -> None:
    """R10: each candidate active, not permanent, both funds paid for the last three years."""
    for entry in entries:
        member = members.get(entry.code)
        if member is None:
            raise CandidateProblem(entry.code, "unknown member")
        verdict = rules.council_eligible(member.facts, ledger.get(entry.code, []), current_year)
        if not verdict.ok:
            reasons = "; ".join(_reason_words(r) for r in verdict.reasons)
            raise CandidateProblem(entry.code, f"not eligible ({reasons})", verdict.reasons)


def _reason_words(reason: rules.Reason) -> str:
    if reason.code == "unpaid":
        return f"{reason.fund} dues for {reason.year} unpaid ({reason.outstanding} outstanding)"
    return reason.code.replace("_", " ")


# --- ballots -----------------------------------------------------------------------------


def selection(mask: int, candidates: Sequence[str]) -> list[str]:
    return [code for n, code in enumerate(candidates) if mask >> n & 1]


def parse_mask(text: str, candidates: Sequence[str]) -> int | None:
    """A mask from callback data, or None if it names anything but these candidates."""
    try:
        mask = int(text, 16)
    except ValueError:
        return None
    if mask < 0 or mask >> len(candidates):
        return None
    return mask


def max_choices(question: Question) -> int:
    return question.seats or 1


# --- counting ----------------------------------------------------------------------------


async def count(
    db: Database,
    question: Question,
    election: Election,
    members: dict[str, Member],
    names: dict[str, str | None],
) -> dict[str, Any]:
    """Count a round by R10 or R11 from the secret ballots."""
    roll = await store.roll_of(db, question.id)
    ballots = await store.ballots(db, question.id)
    candidates = list(question.candidates)
    tally = dict.fromkeys(candidates, 0)
    blank = 0
    for _, choice in ballots:
        chosen = json.loads(choice)
        if not chosen:
            blank += 1
        for code in chosen:
            tally[code] += 1
    voted = await store.voted(db, question.id)
    data: dict[str, Any] = {
        "id": question.id,
        "kind": question.kind,
        "election": election.id,
        "title": election.title,
        "round": question.round,
        "secret": True,
        "roll": len(roll),
        "tally": tally,
        "blank": blank,
        "turnout": len(voted),
        "votes": [],
        "receipts": sorted(r for r, _ in ballots),
        "tie_broken_by_chair": False,
        "voted": voted,
        "candidates": candidates,
        "names": {c: names.get(c) for c in candidates},
    }
    if question.kind == "council_election":
        seats = question.seats or election.seats

        def candidate(code: str) -> rules.Candidate:
            return rules.Candidate(code, members[code].kind, members[code].region)  # type: ignore[arg-type]

        # R10: "already elected" are the seats this election has filled so far, in rank
        # order: those of its earlier rounds first.
        before = [
            code
            for earlier in await store.election_rounds(db, election.id)
            if earlier.round < question.round and earlier.result is not None
            for code in earlier.result.get("elected", [])
        ]
        result = rules.council_seats(
            [candidate(c) for c in candidates],
            tally,
            seats,
            [candidate(c) for c in before],
        )
        data.update(
            elected_before=before,
            seats=seats,
            elected=list(result.elected),
            runoff=list(result.runoff),
            seats_left=result.seats_left,
            decided_by=result.decided_by,
            by_region=result.by_region,
            vacant=result.vacant,
            outcome="runoff" if result.runoff else "elected",
        )
        return data
    single = rules.single_winner(len(roll), tally, blank, question.round, candidates)
    data.update(
        threshold=single.threshold,
        elected=[single.elected] if single.elected else [],
        runoff=list(single.runoff),
    )
    data["outcome"] = {"elected": "elected", "runoff": "runoff", "tie": "pending"}[single.outcome]
    return data


def settle_single(data: dict[str, Any], choice: str | None) -> dict[str, Any]:
    """The chair's casting vote on a tied final round: a tied candidate, or None to decline
    (a run-off among the tied)."""
    result = rules.SingleWinnerResult(
        tally=data["tally"],
        blank=data["blank"],
        roll=data["roll"],
        threshold=data.get("threshold", data["roll"] // 2 + 1),
        outcome="tie",
        elected=None,
        runoff=tuple(data["runoff"]),
        round_no=data["round"],
    )
    settled = rules.settle_with_casting_vote(result, choice)
    return {
        **data,
        "outcome": settled.outcome,
        "elected": [settled.elected] if settled.elected else [],
        "runoff": list(settled.runoff),
        "tie_broken_by_chair": settled.tie_broken_by_chair,
        "casting_vote": choice,
    }


# --- the chart ---------------------------------------------------------------------------


def _shape(label: str) -> str:
    """Arabic letters joined and ordered for display (matplotlib draws left to right)."""
    if any("\u0600" <= ch <= "\u06ff" for ch in label):
        import arabic_reshaper
        from bidi.algorithm import get_display

        return str(get_display(arabic_reshaper.reshape(label)))
    return label


def chart(
    labels: Sequence[str],
    votes: Sequence[int],
    elected: Sequence[bool],
    title: str,
    votes_word: str,
) -> bytes:
    """A horizontal bar chart, votes per candidate, elected bars marked; PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    height = 1.2 + 0.45 * max(len(labels), 1)
    figure = Figure(figsize=(7, height), dpi=110)
    axes = figure.subplots()
    positions = list(range(len(labels)))[::-1]
    colors = ["#1b7f3b" if e else "#9aa5b1" for e in elected]
    axes.barh(positions, votes, color=colors)
    axes.set_yticks(
        positions,
        [_shape(label + (" ✓" if e else "")) for label, e in zip(labels, elected, strict=True)],
    )
    for position, value in zip(positions, votes, strict=True):
        axes.text(value, position, f" {value}", va="center")
    axes.set_xlabel(_shape(votes_word))
    axes.set_title(_shape(title))
    axes.set_xlim(0, max([*votes, 1]) * 1.15)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
