"""The persistent outbox every broadcast goes through: queueing, and the rows' states.

``queue`` writes a notice and every recipient's rows in one transaction, before anything
is sent; ``queue_in`` does the same inside a caller's transaction (a use case that queues
ballots or results together with its own writes). The delivery loop (``bot.delivery``)
sends the rows paced under Telegram's limits. Texts are rendered per recipient, in the
recipient's language, before queueing. A photo or document is stored once in the files
table whatever the number of recipients, and uploaded to Telegram once.

The rest is what the delivery loop works on: which rows are due, claiming rows and
recording outcomes (one transaction per batch), and the counts of a notice. The SQL is in
``bot.store.outbox``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot import clock
from bot.store import Database, Tx, audit
from bot.store import outbox as store
from bot.textsplit import split_message

log = logging.getLogger(__name__)

Buttons = list[list[tuple[str, str]]]


@dataclass(frozen=True)
class Attachment:
    """A photo or a document sent with a message (the message's text is its caption)."""

    kind: str  # photo or document
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("photo", "document"):
            raise ValueError(f"unknown attachment kind {self.kind!r}")


@dataclass(frozen=True)
class Outgoing:
    telegram_id: int
    language: str
    text: str  # Telegram HTML; the caption when there is a photo or document
    buttons: Buttons | None = None
    photo: bytes | None = None  # shorthand for Attachment("photo", photo)
    member: str | None = None
    attachment: Attachment | None = None

    @property
    def file(self) -> Attachment | None:
        if self.attachment is not None:
            return self.attachment
        return Attachment("photo", self.photo) if self.photo is not None else None


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


async def store_attachment(tx: Tx, attachment: Attachment) -> int:
    """The files row of an attachment, stored once per distinct content, kind and name."""
    return await store.store_file(
        tx,
        attachment.kind,
        hashlib.sha256(attachment.data).hexdigest(),
        attachment.data,
        attachment.file_name,
        attachment.mime_type,
        clock.iso(clock.now()),
    )


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
    notice = await store.insert_notice(
        tx, kind, audience, ref, created_by, clock.iso(clock.now()), progress
    )
    files: dict[int, int] = {}  # id() of the bytes -> files row: one hash per distinct object
    rows = []
    for message in messages:
        attachment = message.file
        file = None
        if attachment is not None:
            key = id(attachment.data)
            if key not in files:
                files[key] = await store_attachment(tx, attachment)
            file = files[key]
        parts = [message.text] if attachment is not None else split_message(message.text)
        for number, part in enumerate(parts):
            last = number == len(parts) - 1
            payload: dict[str, object] = {"text": part}
            if last and message.buttons:
                payload["buttons"] = message.buttons
            rows.append(
                store.NewRow(
                    notice,
                    message.telegram_id,
                    number,
                    message.member,
                    message.language,
                    json.dumps(payload, ensure_ascii=False),
                    file if last else None,
                )
            )
    await store.insert_rows(tx, rows)
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
    rows = await store.delivered_last_parts(db, ref, member)
    return [(int(r[0]), r[1], int(r[2])) for r in rows]


# --- what the delivery loop works on ---------------------------------------------------------

COUNTED = ("delivered", "unreachable", "failed", "lost", "pending")
Candidate = store.Candidate


@dataclass(frozen=True)
class Claimed:
    """A row set to ``sending`` and committed: from now on it is never sent again."""

    id: int
    notice: int
    telegram_id: int
    part: int
    text: str
    buttons: Buttons | None
    attempts: int
    file: int | None = None  # the files row
    file_kind: str | None = None  # photo or document
    file_id: str | None = None  # Telegram's id for it, once uploaded
    file_data: bytes | None = None  # the bytes, when it has to be uploaded
    file_name: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of a claimed row, recorded with the next batch."""

    row: Claimed
    state: str  # delivered, retry, failed, lost, unreachable, or released (never sent)
    message_id: int | None = None
    error: str = ""
    not_before: float = 0.0  # retry: epoch seconds
    counts: bool = True  # retry: uses up an attempt
    file_id: str | None = None  # delivered: what Telegram now calls the file
    forget_file_id: bool = False  # Telegram no longer knows the file id: upload again


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
    db: Database, now: float, scan: int = 5000
) -> tuple[list[Candidate], set[int], float | None]:
    """The rows that may be sent at ``now`` (epoch seconds): for each chat its oldest
    unfinished row, when that row is pending and due, so that the parts and notices reach
    a chat in order and a chat never has two in flight. Also the chats with a row in
    flight, and when the first row that is not due yet will be (None if none)."""
    return await store.due(db, now, scan)


def _claimed(row: store.ClaimedRow) -> Claimed:
    payload = json.loads(row.payload)
    buttons = payload.get("buttons")
    return Claimed(
        id=row.id,
        notice=row.notice,
        telegram_id=row.telegram_id,
        part=row.part,
        text=str(payload["text"]),
        buttons=[[(str(b[0]), str(b[1])) for b in line] for line in buttons] if buttons else None,
        attempts=row.attempts,
        file=row.file,
        file_kind=row.file_kind,
        file_id=row.file_id,
        file_data=row.file_data,
        file_name=row.file_name,
    )


async def record(tx: Tx, outcomes: Sequence[Outcome]) -> None:
    """Write what became of claimed rows (and the file ids Telegram gave)."""
    for outcome in outcomes:
        row = outcome.row
        if outcome.state == "delivered":
            assert outcome.message_id is not None
            await store.mark_delivered(tx, row.id, outcome.message_id)
            if outcome.file_id and row.file is not None and outcome.file_id != row.file_id:
                await store.set_file_id(tx, row.file, outcome.file_id)
        elif outcome.state == "retry":
            await store.mark_retry(
                tx, row.id, outcome.not_before, outcome.error, counts=outcome.counts
            )
        elif outcome.state == "released":
            await store.mark_retry(tx, row.id, 0.0, outcome.error, counts=False)
        elif outcome.state == "failed":
            await store.mark_failed(tx, row.id, outcome.error)
        elif outcome.state == "lost":
            await store.mark_lost(tx, row.id, outcome.error)
        elif outcome.state == "unreachable":
            await store.mark_unreachable(
                tx, row.id, row.notice, row.telegram_id, row.part, outcome.error
            )
        else:  # pragma: no cover - a programming error
            raise ValueError(outcome.state)
        if outcome.forget_file_id and row.file is not None:
            await store.set_file_id(tx, row.file, None)


async def settle_and_claim(
    db: Database, outcomes: Sequence[Outcome], row_ids: Sequence[int]
) -> list[Claimed]:
    """One transaction, one commit: record ``outcomes``, then set the pending rows among
    ``row_ids`` to ``sending``. Once committed, a claimed row is never sent again."""
    async with db.transaction() as tx:
        await record(tx, outcomes)
        claimed = await store.claim(tx, row_ids)
    return [_claimed(row) for row in claimed]


async def claim(db: Database, row_id: int) -> Claimed | None:
    """Claim one row (see ``settle_and_claim``)."""
    found = await settle_and_claim(db, (), (row_id,))
    return found[0] if found else None


async def recover(db: Database) -> int:
    """At start: rows left ``sending`` by a crash may or may not have reached Telegram.
    They become ``lost`` and are reported, never sent again."""
    return await store.recover(db)


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
    ones being sent."""
    rows = await store.recipient_states(db, notice)
    found = dict.fromkeys(COUNTED, 0)
    for row in rows:
        found[_recipient_state(*(int(v) for v in tuple(row)[1:]))] += 1
    return {"recipients": len(rows), **found}


async def troubled(db: Database, notice: int) -> list[Troubled]:
    """The notice's recipients that are unreachable, failed or lost, with their member."""
    found = []
    for row in await store.recipient_details(db, notice):
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


async def get_notice(db: Database, notice: int) -> Notice | None:
    row = await store.notice(db, notice)
    return _notice(row) if row else None


async def unfinished(db: Database) -> list[Notice]:
    return [_notice(r) for r in await store.unfinished_notices(db)]


async def finish(
    db: Database, notice: int, tally: Mapping[str, int], report: Outgoing | None
) -> bool:
    """Record that nothing is left to send, and queue the delivery report in the same
    transaction, so that it is sent exactly once. False if already finished."""
    async with db.transaction() as tx:
        now = clock.iso(clock.now())
        if not await store.finish_notice(tx, notice, now):
            return False
        await audit.append(tx, "notice_finished", {"notice": notice, **tally}, actor="bot")
        if report is not None:
            await queue_in(tx, "report", [report], ref=f"notice:{notice}", actor="bot")
            await store.mark_reported(tx, notice, now)
    if report is not None:
        wake()
    return True
