"""The persistent outbox every broadcast goes through: queueing, and the rows' states.

``queue`` writes a notice and every recipient's rows in one transaction, before anything
is sent; the delivery loop (``bot.delivery``) sends them paced under Telegram's limits.
Texts are rendered per recipient, in the recipient's language, before queueing.

The rest is the storage the delivery loop works on: which rows are due, the state change
of one row (each in its own committed transaction), and the counts of a notice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot import clock
from bot.store import Database, Tx, audit
from bot.textsplit import split_message

log = logging.getLogger(__name__)

Buttons = list[list[tuple[str, str]]]


@dataclass(frozen=True)
class Outgoing:
    telegram_id: int
    language: str
    text: str  # Telegram HTML; the caption when there is a photo
    buttons: Buttons | None = None
    photo: bytes | None = None
    member: str | None = None


# Called after every queue() commit: the running delivery loop registers its wake-up here.
# Rows queued by another process (the CLI) are found by the loop's polling instead.
_listeners: list[Callable[[], None]] = []


def listen(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` whenever this process queues something; returns the unsubscribe."""
    _listeners.append(listener)

    def unsubscribe() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return unsubscribe


def wake() -> None:
    """Tell the delivery loop that rows were committed (``queue`` does it itself)."""
    for listener in list(_listeners):
        try:
            listener()
        except Exception:  # a broken listener must not look like a failed queue()
            log.exception("outbox listener failed")


async def queue(
    db: Database,
    kind: str,
    messages: Sequence[Outgoing],
    *,
    ref: str | None = None,
    audience: str | None = None,
    created_by: int | None = None,
    actor: str | None = None,
    progress: tuple[int, int] | None = None,
) -> int:
    """Queue ``messages`` as one notice; returns its id. Long texts become several parts,
    the buttons riding on the last one. ``progress`` is a (chat, message id) that the
    delivery loop edits with the notice's progress."""
    async with db.transaction() as tx:
        notice = await queue_in(
            tx,
            kind,
            messages,
            ref=ref,
            audience=audience,
            created_by=created_by,
            actor=actor,
            progress=progress,
        )
    wake()
    return notice


async def queue_in(
    tx: Tx,
    kind: str,
    messages: Sequence[Outgoing],
    *,
    ref: str | None = None,
    audience: str | None = None,
    created_by: int | None = None,
    actor: str | None = None,
    progress: tuple[int, int] | None = None,
) -> int:
    """``queue`` inside the caller's transaction, for a notice written together with
    something else; the caller calls ``wake()`` after its commit."""
    progress_chat, progress_message = progress if progress else (None, None)
    notice = await tx.insert(
        "INSERT INTO notices (kind, audience, ref, created_by, created_at, progress_chat,"
        " progress_message) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            kind,
            audience,
            ref,
            created_by,
            clock.iso(clock.now()),
            progress_chat,
            progress_message,
        ),
    )
    rows = []
    for message in messages:
        parts = [message.text] if message.photo is not None else split_message(message.text)
        for number, part in enumerate(parts):
            last = number == len(parts) - 1
            payload = {"text": part}
            if last and message.buttons:
                payload["buttons"] = message.buttons  # type: ignore[assignment]
            rows.append(
                (
                    notice,
                    message.telegram_id,
                    number,
                    message.member,
                    message.language,
                    json.dumps(payload, ensure_ascii=False),
                    message.photo if last else None,
                )
            )
    await tx.executemany(
        "INSERT OR IGNORE INTO outbox (notice, telegram_id, part, member, language, payload,"
        " photo) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    await audit.append(
        tx,
        "notice_queued",
        {
            "notice": notice,
            "kind": kind,
            "audience": audience,
            "ref": ref,
            "recipients": len({m.telegram_id for m in messages}),
        },
        actor_id=created_by,
        actor=actor if created_by is None else None,
    )
    return notice


async def delivered_messages(
    db: Database, ref: str, member: str
) -> list[tuple[int, str | None, int]]:
    """(telegram_id, member, message_id) of the last delivered part, to each delegate of
    ``member``, of the notices with ``ref``."""
    rows = await db.all(
        "SELECT o.telegram_id, o.member, o.message_id FROM outbox o JOIN notices n"
        " ON n.id = o.notice WHERE n.ref = ? AND o.member = ? AND o.state = 'delivered'"
        " AND o.part = (SELECT max(part) FROM outbox p WHERE p.notice = o.notice"
        " AND p.telegram_id = o.telegram_id) ORDER BY o.id",
        (ref, member),
    )
    return [(int(r[0]), r[1], int(r[2])) for r in rows]


# --- what the delivery loop works on ---------------------------------------------------------

UNFINISHED = ("pending", "sending")
COUNTED = ("delivered", "unreachable", "failed", "lost", "pending")


@dataclass(frozen=True)
class Claimed:
    """A row set to ``sending`` and committed: from now on it is never sent again."""

    id: int
    notice: int
    telegram_id: int
    part: int
    text: str
    buttons: Buttons | None
    photo: bytes | None
    attempts: int


@dataclass(frozen=True)
class Notice:
    id: int
    kind: str
    audience: str | None
    created_by: int | None
    progress_chat: int | None
    progress_message: int | None


@dataclass(frozen=True)
class Troubled:
    """A recipient the notice did not certainly reach, for the delivery report."""

    telegram_id: int
    member: str | None
    state: str  # unreachable, failed or lost
    person: str | None  # first name or @username, when the bot knows it


async def due(
    db: Database, now: float, limit: int, scan: int = 5000
) -> tuple[list[tuple[int, int]], float | None]:
    """The rows to send next as (row id, chat): for each chat its oldest unfinished row,
    when that row is pending and due at ``now`` (epoch seconds), so parts and notices reach
    a chat in order. Also when the first row that is not due yet will be (None if none)."""
    rows = await db.all(
        "SELECT id, telegram_id, state, not_before FROM outbox WHERE state IN (?, ?)"
        " ORDER BY id LIMIT ?",
        (*UNFINISHED, scan),
    )
    seen: set[int] = set()
    found: list[tuple[int, int]] = []
    later: float | None = None
    for row_id, chat, state, not_before in rows:
        if chat in seen:
            continue
        seen.add(chat)
        if state != "pending":
            continue
        if not_before > now:
            later = not_before if later is None else min(later, not_before)
            continue
        found.append((int(row_id), int(chat)))
        if len(found) >= limit:
            break
    return found, later


async def claim(db: Database, row_id: int) -> Claimed | None:
    """Set a pending row to ``sending`` and commit, before its request leaves."""
    async with db.transaction() as tx:
        changed = await tx.execute(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1"
            " WHERE id = ? AND state = 'pending'",
            (row_id,),
        )
        if not changed:
            return None
        row = await tx.one(
            "SELECT notice, telegram_id, part, payload, photo, attempts FROM outbox WHERE id = ?",
            (row_id,),
        )
    assert row is not None
    payload = json.loads(row[3])
    buttons = payload.get("buttons")
    return Claimed(
        id=row_id,
        notice=int(row[0]),
        telegram_id=int(row[1]),
        part=int(row[2]),
        text=str(payload["text"]),
        buttons=[[(str(b[0]), str(b[1])) for b in line] for line in buttons] if buttons else None,
        photo=bytes(row[4]) if row[4] is not None else None,
        attempts=int(row[5]),
    )


async def mark_delivered(db: Database, row_id: int, message_id: int) -> None:
    await _settle(db, row_id, "state = 'delivered', message_id = ?, error = NULL", (message_id,))


async def mark_retry(
    db: Database, row_id: int, not_before: float, error: str, *, counts: bool = True
) -> None:
    """Back to pending, not before ``not_before`` (epoch seconds). A flood-control wait
    (``counts=False``) does not use up one of the row's attempts."""
    await _settle(
        db,
        row_id,
        "state = 'pending', not_before = ?, error = ?, attempts = attempts - ?",
        (not_before, error[:500], 0 if counts else 1),
    )


async def mark_failed(db: Database, row_id: int, error: str) -> None:
    await _settle(db, row_id, "state = 'failed', error = ?", (error[:500],))


async def mark_lost(db: Database, row_id: int, error: str) -> None:
    await _settle(db, row_id, "state = 'lost', error = ?", (error[:500],))


async def mark_unreachable(db: Database, row: Claimed, error: str) -> None:
    """The recipient blocked the bot or never started it: this row and the notice's later
    parts for that chat, which would meet the same answer."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE outbox SET state = 'unreachable', error = ? WHERE id = ? AND state = 'sending'",
            (error[:500], row.id),
        )
        await tx.execute(
            "UPDATE outbox SET state = 'unreachable', error = ? WHERE notice = ?"
            " AND telegram_id = ? AND part > ? AND state = 'pending'",
            (error[:500], row.notice, row.telegram_id, row.part),
        )


async def _settle(db: Database, row_id: int, assignments: str, params: Sequence[object]) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            f"UPDATE outbox SET {assignments} WHERE id = ? AND state = 'sending'",
            (*params, row_id),
        )


async def recover(db: Database) -> int:
    """At start: rows left ``sending`` by a crash may or may not have reached Telegram.
    They become ``lost`` and are reported, never sent again (at most once)."""
    async with db.transaction() as tx:
        return await tx.execute(
            "UPDATE outbox SET state = 'lost', error = 'in flight when the bot stopped'"
            " WHERE state = 'sending'"
        )


def _recipient_state(pending: int, unreachable: int, failed: int, lost: int) -> str:
    """One state per recipient over its parts: any part still to send makes it pending;
    otherwise the worst outcome of a part."""
    if pending:
        return "pending"
    if unreachable:
        return "unreachable"
    if failed:
        return "failed"
    if lost:
        return "lost"
    return "delivered"


async def counts(db: Database, notice: int) -> dict[str, int]:
    """Recipients (distinct Telegram ids) of a notice by state; ``pending`` includes the
    one being sent."""
    rows = await db.all(
        "SELECT telegram_id, max(state IN ('pending', 'sending')), max(state = 'unreachable'),"
        " max(state = 'failed'), max(state = 'lost') FROM outbox WHERE notice = ?"
        " GROUP BY telegram_id",
        (notice,),
    )
    found = dict.fromkeys(COUNTED, 0)
    for row in rows:
        found[_recipient_state(*(int(v) for v in tuple(row)[1:]))] += 1
    return {"recipients": len(rows), **found}


async def troubled(db: Database, notice: int) -> list[Troubled]:
    """The notice's recipients that are unreachable, failed or lost, with their member."""
    rows = await db.all(
        "SELECT o.telegram_id, min(o.member), max(o.state IN ('pending', 'sending')),"
        " max(o.state = 'unreachable'), max(o.state = 'failed'), max(o.state = 'lost'),"
        " min(u.first_name), min(u.username)"
        " FROM outbox o LEFT JOIN users u ON u.telegram_id = o.telegram_id"
        " WHERE o.notice = ? GROUP BY o.telegram_id ORDER BY min(o.member), o.telegram_id",
        (notice,),
    )
    found = []
    for row in rows:
        state = _recipient_state(*(int(v) for v in tuple(row)[2:6]))
        if state in ("unreachable", "failed", "lost"):
            person = row[6] or (f"@{row[7]}" if row[7] else None)
            found.append(Troubled(int(row[0]), row[1], state, person))
    return found


def _notice(row: Sequence[object]) -> Notice:
    values = tuple(row)
    return Notice(
        id=int(values[0]),  # type: ignore[call-overload]
        kind=str(values[1]),
        audience=values[2] and str(values[2]),  # type: ignore[arg-type]
        created_by=values[3],  # type: ignore[arg-type]
        progress_chat=values[4],  # type: ignore[arg-type]
        progress_message=values[5],  # type: ignore[arg-type]
    )


_NOTICE_FIELDS = "id, kind, audience, created_by, progress_chat, progress_message"


async def get_notice(db: Database, notice: int) -> Notice | None:
    row = await db.one(f"SELECT {_NOTICE_FIELDS} FROM notices WHERE id = ?", (notice,))
    return _notice(row) if row else None


async def unfinished(db: Database) -> list[Notice]:
    rows = await db.all(
        f"SELECT {_NOTICE_FIELDS} FROM notices WHERE finished_at IS NULL ORDER BY id"
    )
    return [_notice(r) for r in rows]


async def finish(
    db: Database, notice: int, tally: Mapping[str, int], report: Outgoing | None
) -> bool:
    """Record that nothing is left to send, and queue the delivery report in the same
    transaction, so that it is sent exactly once. False if already finished."""
    async with db.transaction() as tx:
        now = clock.iso(clock.now())
        changed = await tx.execute(
            "UPDATE notices SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
            (now, notice),
        )
        if not changed:
            return False
        await audit.append(tx, "notice_finished", {"notice": notice, **tally}, actor="bot")
        if report is not None:
            await queue_in(tx, "report", [report], ref=f"notice:{notice}", actor="bot")
            await tx.execute("UPDATE notices SET reported_at = ? WHERE id = ?", (now, notice))
    if report is not None:
        wake()
    return True
