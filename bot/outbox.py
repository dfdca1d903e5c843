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
from dataclasses import dataclass, field

from bot import clock
from bot.store import Database, Tx, audit

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
    parts: tuple[str, ...] = field(default=())  # set by queue(): the text split to fit


def split_text(text: str) -> list[str]:
    from bot.textsplit import split_message

    return split_message(text)


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
        parts = [message.text] if message.photo is not None else split_text(message.text)
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


async def delivered_messages(db: Database, ref: str) -> list[tuple[int, str | None, int]]:
    """(telegram_id, member, message_id) of every delivered last part of notices with ``ref``."""
    rows = await db.all(
        "SELECT o.telegram_id, o.member, o.message_id FROM outbox o JOIN notices n"
        " ON n.id = o.notice WHERE n.ref = ? AND o.state = 'delivered'"
        " AND o.part = (SELECT max(part) FROM outbox p WHERE p.notice = o.notice"
        " AND p.telegram_id = o.telegram_id) ORDER BY o.id",
        (ref,),
    )
    return [(int(r[0]), r[1], int(r[2])) for r in rows]
