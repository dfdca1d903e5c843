"""Requests for extraordinary sessions, their signatures and approvals."""

from __future__ import annotations

from dataclasses import dataclass

from bot import clock
from bot.store import Database, audit


@dataclass(frozen=True)
class SessionRequest:
    id: int
    body: str
    questions: str
    signatures: tuple[str, ...]
    approvals: tuple[str, ...]
    requested_by: str | None = None  # 'secretary_general' or 'council_chair' (R9)


async def create(
    db: Database,
    body: str,
    questions: str,
    member: str,
    actor_id: int,
    requested_by: str | None = None,
) -> int:
    """A new request, signed by the member that makes it."""
    async with db.transaction() as tx:
        request = await tx.insert(
            "INSERT INTO session_requests (body, questions, created_by, created_at,"
            " requested_by) VALUES (?, ?, ?, ?, ?)",
            (body, questions, actor_id, clock.iso(clock.now()), requested_by),
        )
        await tx.execute(
            "INSERT INTO request_signatures (request, member) VALUES (?, ?)", (request, member)
        )
        await audit.append(
            tx,
            "session_requested",
            {
                "request": request,
                "body": body,
                "questions": questions,
                "requested_by": requested_by,
            },
            actor_id=actor_id,
            member=member,
        )
    return request


async def add(db: Database, table: str, request: int, member: str, actor_id: int) -> bool:
    """Sign or approve once per member; False if the member already had."""
    assert table in ("request_signatures", "request_approvals")
    async with db.transaction() as tx:
        added = await tx.execute(
            f"INSERT OR IGNORE INTO {table} (request, member) VALUES (?, ?)", (request, member)
        )
        if added:
            action = (
                "session_request_signed"
                if table == "request_signatures"
                else ("session_request_approved")
            )
            await audit.append(tx, action, {"request": request}, actor_id=actor_id, member=member)
    return bool(added)


async def set_requested_by(db: Database, request: int, requested_by: str) -> bool:
    """Record that the Secretary General or the council chair requests it (once)."""
    async with db.transaction() as tx:
        changed = await tx.execute(
            "UPDATE session_requests SET requested_by = ? WHERE id = ? AND requested_by IS NULL",
            (requested_by, request),
        )
    return bool(changed)


async def get(db: Database, request: int) -> SessionRequest | None:
    row = await db.one(
        "SELECT id, body, questions, requested_by FROM session_requests WHERE id = ?", (request,)
    )
    if row is None:
        return None
    signed = await db.all(
        "SELECT member FROM request_signatures WHERE request = ? ORDER BY member", (request,)
    )
    approved = await db.all(
        "SELECT member FROM request_approvals WHERE request = ? ORDER BY member", (request,)
    )
    return SessionRequest(
        int(row[0]),
        str(row[1]),
        str(row[2]),
        tuple(str(r[0]) for r in signed),
        tuple(str(r[0]) for r in approved),
        row[3],
    )


async def all_requests(db: Database) -> list[SessionRequest]:
    rows = await db.all("SELECT id FROM session_requests ORDER BY id")
    found = [await get(db, int(r[0])) for r in rows]
    return [r for r in found if r is not None]
