"""The delivery loop: sends what the outbox holds, paced under Telegram's limits.

One ``Sender`` runs for the life of the application, as an asyncio task started in
``post_init`` and stopped in ``post_shutdown``. What it promises:

- **At most once.** A row is set to ``sending`` and committed before its request leaves,
  and only one outbox request is in flight at a time. A row found ``sending`` at start was
  in flight when the process died: Telegram may or may not have accepted it, so it
  becomes ``lost`` and is reported, never sent again. A kill therefore loses at most one
  message, and nobody is ever served twice. The same goes for a request that left and got
  no answer (a read timeout, a dropped connection): it is lost, not retried.
- **Paced.** At most ``per_second`` messages in any second for the whole bot (Telegram
  allows about 30), spread over the second rather than in one burst, and per chat a small
  burst refilled at one a second. Updates from users count against the same budget, since most of them are
  answered: a broadcast of thousands leaves room for commands and votes.
- **Flood control honoured.** A 429 puts the row back with its ``retry_after`` and pauses
  the whole loop for that long; it does not use up one of the row's attempts.
- **Blocked users.** A 403 (blocked the bot, never started it, deactivated) marks the
  recipient ``unreachable`` at once, without retrying.
- **Other errors** are retried with exponential backoff, ``max_attempts`` times in all,
  then the row is ``failed``.
- **Resumed after a restart.** Everything is in SQLite; the loop picks up where it was.
  Rows queued by another process (the CLI) are found by polling every ``poll`` seconds;
  ``outbox.queue`` in this process wakes the loop at once.

Why the outbox does not go through the application's bot: PTB's ``AIORateLimiter`` in
``bot/app.py`` retries a 429 itself and, while it waits, holds back every request of the
bot, command answers included; and its ``rate_limit_args`` cannot turn those retries off
(0 falls back to the default). So the Sender sends through its own ``telegram.Bot``,
without a limiter and with its own connection pool, and owns pacing and retries alone;
the application's limiter keeps serving the answers to users, which the Sender leaves
room for. Each notice with a progress message gets it edited as it goes (at most every
``progress_every`` seconds, only when the text changed), then a delivery report is queued
to whoever sent it.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot import i18n, notices, outbox
from bot.outbox import Claimed, Notice, Outgoing
from bot.store import Database, registry

log = logging.getLogger(__name__)

PER_SECOND = 29  # Telegram: about 30 messages a second; one short of it absorbs jitter
CHAT_BURST = 2.0  # Telegram lets a private chat take a short burst (about 3)...
CHAT_RATE = 1.0  # ...then about one message a second
MAX_ATTEMPTS = 5
BACKOFF = 2.0  # seconds before the first retry, doubled each time
POLL = 1.0
PROGRESS_EVERY = 3.0
BATCH = 50  # rows taken per look at the outbox, so new notices and retries interleave
REPORTED_KINDS = frozenset({notices.KIND})  # kinds whose creator gets a delivery report

# Errors after which the request may have reached Telegram: never sent again.
_AMBIGUOUS = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)


async def status(db: Database, notice_id: int) -> dict[str, int]:
    """A notice's recipients (distinct Telegram ids) by state: ``{"id", "recipients",
    "delivered", "unreachable", "failed", "pending", "lost"}``; ``pending`` includes the
    message being sent. Raises ``LookupError`` for an unknown notice."""
    if await outbox.get_notice(db, notice_id) is None:
        raise LookupError(notice_id)
    return {"id": notice_id, **await outbox.counts(db, notice_id)}


class Pace:
    """Telegram's flood limits as the bot keeps under them.

    Globally at most ``per_second`` messages in any second, no two closer than
    ``spacing`` (half the average gap: a slow moment can be caught up, a burst cannot
    happen); per chat a bucket of ``chat_burst`` messages refilled at ``chat_rate`` a
    second. ``take(chat, ours=False)`` counts traffic the Sender does not send itself
    (the answers to users).

    Telegram counts a message when it handles the request, which is somewhat after we
    send it, and answers to users leave a moment after their update arrived. So a message
    of ours counts from its request until its answer (``settle``), and an answer to a
    user from ``answer_delay`` after its update: the window errs on the side of waiting.
    """

    def __init__(
        self,
        per_second: int = PER_SECOND,
        chat_burst: float = CHAT_BURST,
        chat_rate: float = CHAT_RATE,
        clock: Callable[[], float] = time.monotonic,
        answer_delay: float = 0.25,
    ) -> None:
        self.per_second = per_second
        self.answer_delay = answer_delay
        self.spacing = 0.5 / per_second
        self.chat_burst = chat_burst
        self.chat_rate = chat_rate
        self.clock = clock
        self.window: list[float] = []  # sorted times that count against the second
        self.last = -math.inf
        self.paused_until = -math.inf
        self.buckets: dict[int, tuple[float, float]] = {}

    def _tokens(self, chat: int, now: float) -> float:
        tokens, at = self.buckets.get(chat, (self.chat_burst, now))
        return min(self.chat_burst, tokens + (now - at) * self.chat_rate)

    def _expire(self, now: float) -> None:
        gone = bisect.bisect_right(self.window, now - 1.0)
        if gone:
            del self.window[:gone]

    def wait(self) -> float:
        """Seconds until the bot as a whole may send again."""
        now = self.clock()
        self._expire(now)
        wait = max(self.paused_until - now, self.last + self.spacing - now)
        if len(self.window) >= self.per_second:
            wait = max(wait, self.window[len(self.window) - self.per_second] + 1.0 - now)
        return max(wait, 0.0)

    def chat_wait(self, chat: int) -> float:
        """Seconds until ``chat`` may get another message."""
        tokens = self._tokens(chat, self.clock())
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.chat_rate

    def take(self, chat: int | None, *, ours: bool = True) -> float:
        """Count one message (to ``chat``, if known); returns its place in the window."""
        now = self.clock()
        self._expire(now)
        at = now if ours else now + self.answer_delay
        bisect.insort(self.window, at)
        if ours:
            self.last = now
        if chat is not None:
            # Answers to a busy user hold that chat back for a moment, not for as long as
            # the user kept pressing buttons: the bucket does not go below empty.
            tokens = self._tokens(chat, now) - 1.0
            self.buckets[chat] = (tokens if ours else max(tokens, 0.0), now)
            if len(self.buckets) > 10_000:
                self._prune(now)
        return at

    def _remove(self, at: float) -> None:
        index = bisect.bisect_left(self.window, at)
        if index < len(self.window) and self.window[index] == at:
            del self.window[index]

    def settle(self, at: float) -> None:
        """The message taken at ``at`` was answered: Telegram counted it by now."""
        self._remove(at)
        bisect.insort(self.window, self.clock())

    def give_back(self, chat: int, at: float) -> None:
        """The message taken at ``at`` was refused (403, 429): Telegram did not count it."""
        self._remove(at)
        now = self.clock()
        self.buckets[chat] = (min(self.chat_burst, self._tokens(chat, now) + 1.0), now)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self.clock() + seconds)

    def _prune(self, now: float) -> None:
        self.buckets = {
            c: b for c, b in self.buckets.items() if self._tokens(c, now) < self.chat_burst
        }


def delivery_bot(token: str, base_url: str, base_file_url: str) -> Bot:
    """The Sender's own Bot: no rate limiter (the Sender paces and retries itself), a small
    pool of its own, and a patient read timeout, since a request that got no answer
    cannot be sent again."""
    request = HTTPXRequest(
        connection_pool_size=4,
        connect_timeout=10.0,
        read_timeout=30.0,
        write_timeout=30.0,
        pool_timeout=10.0,
        media_write_timeout=60.0,
    )
    return Bot(token, base_url=base_url, base_file_url=base_file_url, request=request)


def _seconds(exc: RetryAfter) -> float:
    # The public ``retry_after`` warns about its coming change of type; the value is the same.
    value: Any = getattr(exc, "_retry_after", None)
    if value is None:  # pragma: no cover - older PTB
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _ambiguous(exc: BaseException) -> bool:
    return isinstance(exc.__cause__, _AMBIGUOUS)


class Sender:
    """Sends the outbox; see the module docstring for what it promises.

    Public API: ``start()``, ``stop()``, ``wake()`` (something was queued),
    ``note_incoming(chat_id)`` (an update arrived and will likely be answered).
    """

    def __init__(
        self,
        db: Database,
        bot: Bot,
        *,
        per_second: int = PER_SECOND,
        chat_burst: float = CHAT_BURST,
        chat_rate: float = CHAT_RATE,
        max_attempts: int = MAX_ATTEMPTS,
        backoff: float = BACKOFF,
        poll: float = POLL,
        progress_every: float = PROGRESS_EVERY,
        owns_bot: bool = False,
    ) -> None:
        self.db = db
        self.bot = bot
        self.pace = Pace(per_second, chat_burst, chat_rate)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.poll = poll
        self.progress_every = progress_every
        self.owns_bot = owns_bot
        self.recovered = 0  # rows found in flight at start, now lost
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._unsubscribe: Callable[[], None] | None = None
        self._next_follow = 0.0
        self._shown: dict[int, str] = {}  # notice -> progress text last shown
        self._shown_at: dict[int, float] = {}
        self._gone: set[int] = set()  # notices whose progress message cannot be edited

    @classmethod
    def for_settings(cls, settings: Any, db: Database, **options: Any) -> Sender:
        bot = delivery_bot(
            settings.require_token(), settings.telegram_api_url, settings.telegram_file_url
        )
        return cls(db, bot, owns_bot=True, **options)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover rows left in flight by a crash, then run until ``stop``."""
        if self._task is not None:
            return
        if self.owns_bot:
            try:
                await self.bot.initialize()
            except TelegramError as exc:  # requests work without it; Telegram may be back soon
                log.warning("delivery bot not initialized: %s", exc)
        self.recovered = await outbox.recover(self.db)
        if self.recovered:
            log.warning(
                "%d outbox message(s) were in flight at a crash: marked lost", self.recovered
            )
        self._unsubscribe = outbox.listen(self.wake)
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Finish the message in flight (so that nothing is lost), then stop."""
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.owns_bot:
            with contextlib.suppress(Exception):
                await self.bot.shutdown()

    def wake(self) -> None:
        self._wake.set()

    def note_incoming(self, chat_id: int | None) -> None:
        """An update arrived: keep a slot of the budget for its answer."""
        self.pace.take(chat_id, ours=False)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    # --- the loop -------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            delay = self.poll
            try:
                delay = await self._pass()
                if delay > 0 or time.monotonic() >= self._next_follow:
                    await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox delivery pass failed; trying again shortly")
                delay = self.poll
            if delay > 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), min(delay, self.poll))

    async def _pass(self) -> float:
        """Send what is due; 0 if something was sent, else how long to wait."""
        due, later = await outbox.due(self.db, time.time(), BATCH)
        wait = self.poll if later is None else max(0.0, later - time.time())
        sent = 0
        for row_id, chat in due:
            if self._stopping:
                break
            chat_wait = self.pace.chat_wait(chat)
            if chat_wait > 0:
                wait = min(wait, chat_wait)
                continue
            if not await self._slot() or self.pace.chat_wait(chat) > 0:
                continue
            await self._send(row_id)
            sent += 1
            if time.monotonic() >= self._next_follow:
                await self._follow()
        return 0.0 if sent else max(wait, 0.01)

    async def _slot(self) -> bool:
        """Wait for the global budget; False when stopping."""
        while not self._stopping:
            wait = self.pace.wait()
            if wait <= 0:
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), wait)
        return False

    async def _send(self, row_id: int) -> None:
        row = await outbox.claim(self.db, row_id)
        if row is None:
            return
        taken = self.pace.take(row.telegram_id)
        try:
            message = await self._deliver(row)
        except RetryAfter as exc:
            seconds = _seconds(exc)
            self.pace.give_back(row.telegram_id, taken)
            self.pace.pause(seconds)
            log.info("flood control: waiting %.1fs (row %d)", seconds, row.id)
            await outbox.mark_retry(self.db, row.id, time.time() + seconds, str(exc), counts=False)
        except Forbidden as exc:
            self.pace.give_back(row.telegram_id, taken)
            await outbox.mark_unreachable(self.db, row, str(exc))
        except NetworkError as exc:  # includes TimedOut
            if _ambiguous(exc):
                log.warning("no answer for outbox row %d: marked lost (%s)", row.id, exc)
                await outbox.mark_lost(self.db, row.id, f"no answer from Telegram: {exc}")
            else:
                await self._retry_or_fail(row, exc)
        except TelegramError as exc:
            await self._retry_or_fail(row, exc)
        except Exception:  # a payload PTB refuses before sending: no retry would help
            log.exception("outbox row %d could not be sent", row.id)
            await outbox.mark_failed(self.db, row.id, "could not be sent")
        else:
            self.pace.settle(taken)
            message_id = message.message_id
            await self._settled(lambda: outbox.mark_delivered(self.db, row.id, message_id))

    async def _settled(self, write: Callable[[], Awaitable[None]]) -> None:
        """Record a delivery; a database hiccup must not leave the row looking in flight."""
        for attempt in range(3):
            try:
                await write()
                return
            except Exception:
                if attempt == 2:
                    raise
                log.exception("could not record a delivery; retrying")
                await asyncio.sleep(0.2)

    async def _retry_or_fail(self, row: Claimed, exc: TelegramError) -> None:
        if row.attempts >= self.max_attempts:
            log.warning("outbox row %d failed after %d attempts: %s", row.id, row.attempts, exc)
            await outbox.mark_failed(self.db, row.id, str(exc))
            return
        delay = self.backoff * 2 ** (row.attempts - 1)
        await outbox.mark_retry(self.db, row.id, time.time() + delay, str(exc))

    async def _deliver(self, row: Claimed) -> Message:
        markup = None
        if row.buttons:
            markup = InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(text, callback_data=data) for text, data in line]
                    for line in row.buttons
                ]
            )
        if row.photo is not None:
            return await self.bot.send_photo(
                row.telegram_id,
                photo=row.photo,
                caption=row.text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
        return await self.bot.send_message(
            row.telegram_id,
            row.text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )

    # --- progress and reports ---------------------------------------------------------------

    async def _follow(self) -> None:
        """Edit progress messages, and finish the notices that have nothing left to send."""
        self._next_follow = time.monotonic() + self.progress_every
        for notice in await outbox.unfinished(self.db):
            if self._stopping:
                return
            tally = await outbox.counts(self.db, notice.id)
            if tally["pending"] == 0:
                await self._finish(notice, tally)
            else:
                await self._progress(notice, tally)

    async def _finish(self, notice: Notice, tally: dict[str, int]) -> None:
        report = None
        if notice.kind in REPORTED_KINDS and notice.created_by is not None:
            language = await notices.language_of(self.db, notice.created_by)
            troubled = await outbox.troubled(self.db, notice.id)
            members = {m.code: m for m in await registry.members(self.db)}
            with i18n.use_locale(language):
                text = notices.report_text(notice.id, notice.audience, tally, troubled, members)
            report = Outgoing(notice.created_by, language, text)
        if await outbox.finish(self.db, notice.id, tally, report):
            log.info("notice %d finished: %s", notice.id, tally)
            await self._progress(notice, tally, final=True)
        self._shown.pop(notice.id, None)
        self._shown_at.pop(notice.id, None)
        self._gone.discard(notice.id)

    async def _progress(self, notice: Notice, tally: dict[str, int], final: bool = False) -> None:
        chat, message_id = notice.progress_chat, notice.progress_message
        if chat is None or message_id is None or notice.id in self._gone:
            return
        now = time.monotonic()
        if not final and now - self._shown_at.get(notice.id, -math.inf) < self.progress_every:
            return
        language = await notices.language_of(self.db, notice.created_by or chat)
        with i18n.use_locale(language):
            text = notices.progress_text(notice.id, notice.audience, tally)
        if self._shown.get(notice.id) == text:
            return
        if not await self._slot():
            return
        taken = self.pace.take(chat)
        try:
            await self.bot.edit_message_text(
                text, chat_id=chat, message_id=message_id, parse_mode=ParseMode.HTML
            )
        except RetryAfter as exc:
            self.pace.give_back(chat, taken)
            self.pace.pause(_seconds(exc))
            return  # shown at the next turn
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                log.info("progress of notice %d cannot be edited: %s", notice.id, exc)
                self._gone.add(notice.id)
        except TelegramError as exc:
            log.info("progress of notice %d not edited: %s", notice.id, exc)
            return
        self.pace.settle(taken)
        self._shown[notice.id] = text
        self._shown_at[notice.id] = now
