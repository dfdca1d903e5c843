"""Elections and their candidates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot import clock
from bot.store import Database, audit


@dataclass(frozen=True)
class Election:
    id: int
    meeting: int
    type: str
    title: str
    seats: int
    title_fr: str = ""
    title_ar: str = ""

    def title_in(self, language: str) -> str:
        """The title in ``language`` (``title`` is the English one)."""
        chosen = {"ar": self.title_ar, "fr": self.title_fr}.get(language, self.title)
        return chosen or self.title


@dataclass(frozen=True)
class CandidateEntry:
    code: str
    name: str | None  # a person's name; None for a member city


async def create_election(
    db: Database,
    meeting: int,
    type_: str,
    title: str,
    seats: int,
    candidates: Sequence[CandidateEntry],
    *,
    actor_id: int | None = None,
    actor: str = "cli",
    title_fr: str | None = None,
    title_ar: str | None = None,
) -> int:
    """An election; ``title`` is its English title, the French and Arabic ones default to it."""
    async with db.transaction() as tx:
        election = await tx.insert(
            "INSERT INTO elections (meeting, type, title, title_fr, title_ar, seats, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                meeting,
                type_,
                title,
                title_fr or title,
                title_ar or title,
                seats,
                clock.iso(clock.now()),
            ),
        )
        await tx.executemany(
            "INSERT INTO candidates (election, code, name, position) VALUES (?, ?, ?, ?)",
            [(election, c.code, c.name, n) for n, c in enumerate(candidates)],
        )
        await audit.append(
            tx,
            "election_created",
            {
                "election": election,
                "meeting": meeting,
                "type": type_,
                "title": title,
                "titles": {"fr": title_fr or title, "ar": title_ar or title},
                "seats": seats,
                "candidates": [c.code for c in candidates],
            },
            actor_id=actor_id,
            actor=None if actor_id else actor,
        )
    return election


async def get_election(db: Database, election: int) -> Election | None:
    row = await db.one(
        "SELECT id, meeting, type, title, seats, title_fr, title_ar FROM elections WHERE id = ?",
        (election,),
    )
    if row is None:
        return None
    return Election(
        int(row[0]), int(row[1]), str(row[2]), str(row[3]), int(row[4]), str(row[5]), str(row[6])
    )


async def candidates(db: Database, election: int) -> list[CandidateEntry]:
    rows = await db.all(
        "SELECT code, name FROM candidates WHERE election = ? ORDER BY position", (election,)
    )
    return [CandidateEntry(str(r[0]), r[1]) for r in rows]
