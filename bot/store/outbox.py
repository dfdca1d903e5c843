"""The outbox's storage: notices, their recipients' rows, and the files they carry.

Row states: pending -> sending -> delivered | unreachable | failed, or back to pending for
a retry. A row found ``sending`` after a crash may or may not have reached Telegram: it
becomes ``lost``, never sent again. A photo or document is one row of ``files`` however
many recipients it goes to; once Telegram has it, its ``telegram_file_id`` is what is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.store import Database, Row, Tx

UNFINISHED = ("pending", "sending")


# --- queueing --------------------------------------------------------------------------------


async def insert_notice(
    tx: Tx,
    kind: str,
    audience: str | None,
    ref: str | None,
    created_by: int | None,
    created_at: str,
    progress: tuple[int, int] | None,
) -> int:
    chat, message = progress if progress else (None, None)
    return await tx.insert(
        "INSERT INTO notices (kind, audience, ref, created_by, created_at, progress_chat,"
        " progress_message) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (kind, audience, ref, created_by, created_at, chat, message),
    )


@dataclass(frozen=True)
class NewRow:
    notice: int
    telegram_id: int
    part: int
    member: str | None
    language: str
    payload: str  # JSON: {"text", "buttons"?}
    file: int | None


async def insert_rows(tx: Tx, rows: Iterable[NewRow]) -> None:
    await tx.executemany(
        "INSERT OR IGNORE INTO outbox (notice, telegram_id, part, member, language, payload,"
        " file) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(r.notice, r.telegram_id, r.part, r.member, r.language, r.payload, r.file) for r in rows],
    )


async def store_file(
    tx: Tx,
    kind: str,
    sha256: str,
    data: bytes,
    file_name: str | None,
    mime_type: str | None,
    created_at: str,
) -> int:
    """The id of the file with this content, kind and name; stored once."""
    await tx.execute(
        "INSERT OR IGNORE INTO files (kind, sha256, file_name, mime_type, data, size,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (kind, sha256, file_name, mime_type, data, len(data), created_at),
    )
    row = await tx.one(
        "SELECT id FROM files WHERE kind = ? AND sha256 = ? AND ifnull(file_name, '') = ?",
        (kind, sha256, file_name or ""),
    )
    assert row is not None
    return int(row[0])


# --- what the delivery loop works on ---------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A row that may be sent now: its chat has nothing older unfinished."""

    id: int
    telegram_id: int
    file: int | None
    uploaded: bool  # the file (if any) already has a Telegram file id


async def due(
    db: Database, now: float, scan: int
) -> tuple[list[Candidate], set[int], float | None]:
    """For each chat its oldest unfinished row, when that row is pending and due at ``now``
    (epoch seconds), in queue order; the chats whose oldest unfinished row is ``sending``;
    and when the first row not due yet will be (None if none)."""
    rows = await db.all(
        "SELECT o.id, o.telegram_id, o.state, o.not_before, o.file,"
        " f.telegram_file_id IS NOT NULL FROM outbox o LEFT JOIN files f ON f.id = o.file"
        " WHERE o.state IN ('pending', 'sending') ORDER BY o.id LIMIT ?",
        (scan,),
    )
    seen: set[int] = set()
    busy: set[int] = set()
    found: list[Candidate] = []
    later: float | None = None
    for row_id, chat, state, not_before, file, uploaded in rows:
        if chat in seen:
            continue
        seen.add(chat)
        if state != "pending":
            busy.add(int(chat))
            continue
        if not_before > now:
            later = not_before if later is None else min(later, not_before)
            continue
        found.append(Candidate(int(row_id), int(chat), file, bool(uploaded)))
    return found, busy, later


@dataclass(frozen=True)
class ClaimedRow:
    id: int
    notice: int
    telegram_id: int
    part: int
    payload: str
    attempts: int
    file: int | None
    file_kind: str | None
    file_id: str | None  # Telegram's id for the file, once uploaded
    file_data: bytes | None  # only when it must be uploaded
    file_name: str | None


async def claim(tx: Tx, row_ids: Sequence[int]) -> list[ClaimedRow]:
    """Set pending rows to ``sending`` (one more attempt); the ones that were pending."""
    claimed: list[ClaimedRow] = []
    for row_id in row_ids:
        changed = await tx.execute(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1"
            " WHERE id = ? AND state = 'pending'",
            (row_id,),
        )
        if not changed:
            continue
        row = await tx.one(
            "SELECT o.notice, o.telegram_id, o.part, o.payload, o.attempts, o.file, f.kind,"
            " f.telegram_file_id, CASE WHEN f.telegram_file_id IS NULL THEN f.data END,"
            " f.file_name FROM outbox o LEFT JOIN files f ON f.id = o.file WHERE o.id = ?",
            (row_id,),
        )
        assert row is not None
        claimed.append(
            ClaimedRow(
                id=row_id,
                notice=int(row[0]),
                telegram_id=int(row[1]),
                part=int(row[2]),
                payload=str(row[3]),
                attempts=int(row[4]),
                file=row[5],
                file_kind=row[6],
                file_id=row[7],
                file_data=bytes(row[8]) if row[8] is not None else None,
                file_name=row[9],
            )
        )
    return claimed


async def mark_delivered(tx: Tx, row_id: int, message_id: int) -> None:
    await _settle(tx, row_id, "state = 'delivered', message_id = ?, error = NULL", (message_id,))


async def mark_retry(
    tx: Tx, row_id: int, not_before: float, error: str, *, counts: bool = True
) -> None:
    """Back to pending, not before ``not_before``; ``counts=False`` gives the attempt back."""
    await _settle(
        tx,
        row_id,
        "state = 'pending', not_before = ?, error = ?, attempts = attempts - ?",
        (not_before, error[:500], 0 if counts else 1),
    )


async def mark_failed(tx: Tx, row_id: int, error: str) -> None:
    await _settle(tx, row_id, "state = 'failed', error = ?", (error[:500],))


async def mark_lost(tx: Tx, row_id: int, error: str) -> None:
    await _settle(tx, row_id, "state = 'lost', error = ?", (error[:500],))


async def mark_unreachable(
    tx: Tx, row_id: int, notice: int, telegram_id: int, part: int, error: str
) -> None:
    """This row, and the notice's later parts for that chat (they would meet the same
    answer)."""
    await _settle(tx, row_id, "state = 'unreachable', error = ?", (error[:500],))
    await tx.execute(
        "UPDATE outbox SET state = 'unreachable', error = ? WHERE notice = ?"
        " AND telegram_id = ? AND part > ? AND state = 'pending'",
        (error[:500], notice, telegram_id, part),
    )


async def _settle(tx: Tx, row_id: int, assignments: str, params: Sequence[object]) -> None:
    await tx.execute(
        f"UPDATE outbox SET {assignments} WHERE id = ? AND state = 'sending'",
        (*params, row_id),
    )


async def set_file_id(tx: Tx, file: int, telegram_file_id: str | None) -> None:
    """What Telegram calls the file once it has it (None: upload it again)."""
    await tx.execute("UPDATE files SET telegram_file_id = ? WHERE id = ?", (telegram_file_id, file))


async def recover(db: Database) -> int:
    """Rows left ``sending`` by a crash become ``lost``; how many."""
    async with db.transaction() as tx:
        return await tx.execute(
            "UPDATE outbox SET state = 'lost', error = 'in flight when the bot stopped'"
            " WHERE state = 'sending'"
        )


# --- counts, reports, notices ----------------------------------------------------------------


async def recipient_states(db: Database, notice: int) -> list[Row]:
    """Per recipient of a notice: telegram id, and whether any part is unfinished,
    unreachable, failed, lost."""
    return await db.all(
        "SELECT telegram_id, max(state IN ('pending', 'sending')), max(state = 'unreachable'),"
        " max(state = 'failed'), max(state = 'lost') FROM outbox WHERE notice = ?"
        " GROUP BY telegram_id",
        (notice,),
    )


async def recipient_details(db: Database, notice: int) -> list[Row]:
    """``recipient_states`` with the member and the person's first name and username."""
    return await db.all(
        "SELECT o.telegram_id, min(o.member), max(o.state IN ('pending', 'sending')),"
        " max(o.state = 'unreachable'), max(o.state = 'failed'), max(o.state = 'lost'),"
        " min(u.first_name), min(u.username)"
        " FROM outbox o LEFT JOIN users u ON u.telegram_id = o.telegram_id"
        " WHERE o.notice = ? GROUP BY o.telegram_id ORDER BY min(o.member), o.telegram_id",
        (notice,),
    )


async def delivered_last_parts(db: Database, ref: str, member: str) -> list[Row]:
    """(telegram_id, member, message_id) of the last delivered part, to each delegate of
    ``member``, of the notices with ``ref``."""
    return await db.all(
        "SELECT o.telegram_id, o.member, o.message_id FROM outbox o JOIN notices n"
        " ON n.id = o.notice WHERE n.ref = ? AND o.member = ? AND o.state = 'delivered'"
        " AND o.part = (SELECT max(part) FROM outbox p WHERE p.notice = o.notice"
        " AND p.telegram_id = o.telegram_id) ORDER BY o.id",
        (ref, member),
    )


_NOTICE_FIELDS = "id, kind, audience, created_by, progress_chat, progress_message"


async def notice(db: Database, notice_id: int) -> Row | None:
    return await db.one(f"SELECT {_NOTICE_FIELDS} FROM notices WHERE id = ?", (notice_id,))


async def unfinished_notices(db: Database) -> list[Row]:
    return await db.all(
        f"SELECT {_NOTICE_FIELDS} FROM notices WHERE finished_at IS NULL ORDER BY id"
    )


async def finish_notice(tx: Tx, notice_id: int, now: str) -> bool:
    """Record that nothing is left to send; False if already finished."""
    changed = await tx.execute(
        "UPDATE notices SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
        (now, notice_id),
    )
    return bool(changed)


async def mark_reported(tx: Tx, notice_id: int, now: str) -> None:
    await tx.execute("UPDATE notices SET reported_at = ? WHERE id = ?", (now, notice_id))


async def rows_of(db: Database, notice_id: int, states: Sequence[str]) -> list[Row]:
    """(telegram_id, part, state, error) of a notice's rows in ``states``."""
    marks = ", ".join("?" for _ in states)
    return await db.all(
        f"SELECT telegram_id, part, state, error FROM outbox WHERE notice = ?"
        f" AND state IN ({marks}) ORDER BY id",
        (notice_id, *states),
    )
