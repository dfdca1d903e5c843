"""The delivery loop: sends what the outbox holds, paced under Telegram's limits.

One ``Sender`` runs for the life of the application, as an asyncio task started in
``post_init`` and stopped in ``post_shutdown``. What it promises:

- **Several requests in flight, never a message twice.** Up to ``in_flight`` requests
  (``OUTBOX_IN_FLIGHT``) are on their way at once, so a round trip of a few hundred
  milliseconds does not hold the broadcast back. Rows are claimed in batches: one
  transaction records what became of the rows that came back and sets the next rows to
  ``sending``, and commits, before any of those requests leaves. A row is ``sending`` from
  that commit until its outcome is committed, and at most ``in_flight`` rows are ever
  ``sending``. A row found ``sending`` at start was in flight when the process died:
  Telegram may or may not have accepted it, so it becomes ``lost`` and is reported, never
  sent again. A kill therefore loses at most ``in_flight`` messages, each reported, and
  nobody is ever served twice. The same goes for a request that left and got no answer (a
  read timeout, a dropped connection): it is lost, not retried.
- **In order per chat.** A chat has at most one request in flight, and its next row is
  taken only once the one before is finished: the parts of a long message, and notices,
  reach each chat in the order they were queued.
- **Paced.** At most ``per_second`` messages in any second for the whole bot (Telegram
  allows about 30), spread over the second rather than in one burst, and per chat a small
  burst refilled at one a second. Updates from users count against the same budget, since
  most of them are answered: a broadcast of thousands leaves room for commands and votes.
- **Flood control honoured.** A 429 puts the row back with its ``retry_after`` and pauses
  every request of the loop for that long; it does not use up one of the row's attempts.
- **Blocked users.** A 403 (blocked the bot, never started it, deactivated) marks the
  recipient ``unreachable`` at once, without retrying.
- **Other errors** are retried with exponential backoff, ``max_attempts`` times in all,
  then the row is ``failed``.
- **Files uploaded once.** A photo or document is uploaded with the first row that
  carries it (the others for that file wait meanwhile); Telegram's file id is then stored
  with the file and every later row sends that id instead of the bytes.
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
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot import i18n, notices, outbox
from bot.outbox import Claimed, Notice, Outcome, Outgoing
from bot.store import Database, registry

log = logging.getLogger(__name__)

PER_SECOND = 29  # Telegram: about 30 messages a second; one short of it absorbs jitter
CHAT_BURST = 2.0  # Telegram lets a private chat take a short burst (about 3)...
CHAT_RATE = 1.0  # ...then about one message a second
IN_FLIGHT = 16  # requests on their way at once (bench/broadcast.py: enough up to ~400 ms)
MAX_ATTEMPTS = 5
BACKOFF = 2.0  # seconds before the first retry, doubled each time
POLL = 1.0
PROGRESS_EVERY = 3.0
COMMIT_EVERY = 0.05  # seconds between two batches while busy: one commit for several rows
SCAN = 5000  # unfinished rows looked at per batch
REPORTED_KINDS = frozenset({notices.KIND})  # kinds whose creator gets a delivery report

# Errors after which the request may have reached Telegram: never sent again.
_AMBIGUOUS = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)
# Telegram's answers when a file id it gave can no longer be used: upload the file again.
_STALE_FILE = ("wrong file identifier", "file reference", "wrong remote file")


async def status(db: Database, notice_id: int) -> dict[str, int]:
    """A notice's recipients (distinct Telegram ids) by state: ``{"id", "recipients",
    "delivered", "unreachable", "failed", "pending", "lost"}``; ``pending`` includes the
    messages being sent. Raises ``LookupError`` for an unknown notice."""
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

    Telegram counts a message when the request reaches it, about half a round trip after
    it leaves (``one_way``, which the Sender keeps up to date), so the window holds the
    times at which messages are expected to reach Telegram, and a new message is checked
    against the window as it will be when it arrives. Once a message is answered, its time
    becomes the middle of its round trip: a request that left late (a busy moment) is
    counted where it really arrived. An answer to a user leaves ``answer_delay`` after its
    update arrived.
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
        self.one_way = 0.0
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
        arrival = now + self.one_way
        self._expire(arrival)
        wait = max(self.paused_until - now, self.last + self.spacing - now)
        if len(self.window) >= self.per_second:
            wait = max(wait, self.window[len(self.window) - self.per_second] + 1.0 - arrival)
        return max(wait, 0.0)

    def chat_wait(self, chat: int) -> float:
        """Seconds until ``chat`` may get another message."""
        tokens = self._tokens(chat, self.clock())
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.chat_rate

    def take(self, chat: int | None, *, ours: bool = True) -> float:
        """Count one message (to ``chat``, if known); returns its place in the window."""
        now = self.clock()
        at = now + self.one_way + (0.0 if ours else self.answer_delay)
        self._expire(at)
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

    def settle(self, at: float, left: float) -> None:
        """The message taken at ``at`` (left at ``left``) was answered now: it reached
        Telegram about halfway through its round trip."""
        self._remove(at)
        bisect.insort(self.window, max(at, (left + self.clock()) / 2))

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


def delivery_bot(token: str, base_url: str, base_file_url: str, in_flight: int = IN_FLIGHT) -> Bot:
    """The Sender's own Bot: no rate limiter (the Sender paces and retries itself), a pool
    of its own with a connection for every request in flight (one waiting for a connection
    would leave later than it was counted), and a patient read timeout, since a request
    that got no answer cannot be sent again."""
    request = HTTPXRequest(
        connection_pool_size=in_flight + 2,  # and the progress edits
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


def _file_id(message: Message, kind: str | None) -> str | None:
    """The id Telegram gave the photo (its largest size) or document of a sent message."""
    if kind == "photo" and message.photo:
        return message.photo[-1].file_id
    if kind == "document" and message.document is not None:
        return message.document.file_id
    return None


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
        in_flight: int = IN_FLIGHT,
        max_attempts: int = MAX_ATTEMPTS,
        backoff: float = BACKOFF,
        poll: float = POLL,
        progress_every: float = PROGRESS_EVERY,
        commit_every: float = COMMIT_EVERY,
        owns_bot: bool = False,
    ) -> None:
        if in_flight < 1:
            raise ValueError("in_flight must be at least 1")
        self.db = db
        self.bot = bot
        self.pace = Pace(per_second, chat_burst, chat_rate)
        self.in_flight = in_flight
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.poll = poll
        self.progress_every = progress_every
        self.commit_every = commit_every
        self.owns_bot = owns_bot
        self.recovered = 0  # rows found in flight at start, now lost
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._unsubscribe: Callable[[], None] | None = None
        self._gate = asyncio.Lock()  # requests leave one by one, in the order they queue
        self._flying: dict[int, asyncio.Task[None]] = {}  # claimed rows being sent
        self._outcomes: list[Outcome] = []  # came back, recorded with the next batch
        self._uploading: set[int] = set()  # files whose first upload is under way
        self._last_commit = -math.inf
        self._round_trip: float | None = None  # smoothed seconds from request to answer
        self._next_follow = 0.0
        self._follower: asyncio.Task[None] | None = None
        self._shown: dict[int, str] = {}  # notice -> progress text last shown
        self._shown_at: dict[int, float] = {}
        self._gone: set[int] = set()  # notices whose progress message cannot be edited

    @classmethod
    def for_settings(cls, settings: Any, db: Database, **options: Any) -> Sender:
        in_flight = options.pop("in_flight", getattr(settings, "outbox_in_flight", IN_FLIGHT))
        bot = delivery_bot(
            settings.require_token(),
            settings.telegram_api_url,
            settings.telegram_file_url,
            in_flight,
        )
        return cls(db, bot, owns_bot=True, in_flight=in_flight, **options)

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
        """Let the requests in flight finish and record them (so that nothing is lost),
        put back the rows claimed but not sent yet, then stop."""
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
        for flying in list(self._flying.values()):  # only after a timeout
            flying.cancel()
        await asyncio.gather(*self._flying.values(), return_exceptions=True)
        if self._follower is not None:  # it sees the stop; cancelled mid-statement, it
            # could leave the connection inside a transaction
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._follower), timeout)
        if self._outcomes:
            with contextlib.suppress(Exception):
                await outbox.settle_and_claim(self.db, self._outcomes, ())
                self._outcomes = []
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
        while not (self._stopping and not self._flying and not self._outcomes):
            self._wake.clear()
            delay = self.poll
            try:
                delay = await self._batch()
                idle = delay > 0 and not self._flying and not self._outcomes
                if idle or time.monotonic() >= self._next_follow:
                    self._follow_soon()  # idle: a notice may just have been finished
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox delivery batch failed; trying again shortly")
                delay = self.poll
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), min(delay, self.poll))

    async def _batch(self) -> float:
        """Record the outcomes that came back and claim rows for the free slots, in one
        commit, then start their requests. Returns how long to wait before the next."""
        since = time.monotonic() - self._last_commit
        if since < self.commit_every and self._flying:
            return self.commit_every - since  # let a few more come back first
        free = 0 if self._stopping else self._claimable() - len(self._flying)
        chosen: list[int] = []
        files: set[int] = set()
        wait = self.poll
        if free > 0:
            found, _busy, later = await outbox.due(self.db, time.time(), SCAN)
            if later is not None:
                wait = max(0.0, later - time.time())
            for candidate in found:
                if len(chosen) >= free:
                    break
                chat_wait = self.pace.chat_wait(candidate.telegram_id)
                if chat_wait > 0:
                    wait = min(wait, chat_wait)
                    continue
                if candidate.file is not None and not candidate.uploaded:
                    if candidate.file in self._uploading or candidate.file in files:
                        continue  # its first upload is under way: then sent by file id
                    files.add(candidate.file)
                chosen.append(candidate.id)
        if not chosen and not self._outcomes:
            return max(wait, 0.01)
        outcomes, self._outcomes = self._outcomes, []
        try:
            claimed = await outbox.settle_and_claim(self.db, outcomes, chosen)
        except BaseException:
            self._outcomes = outcomes + self._outcomes
            raise
        self._last_commit = time.monotonic()
        for outcome in outcomes:  # its file id (if any) is stored now
            if outcome.row.file is not None and outcome.row.file_data is not None:
                self._uploading.discard(outcome.row.file)
        for row in claimed:
            if row.file is not None and row.file_data is not None:
                self._uploading.add(row.file)
            self._flying[row.id] = asyncio.create_task(self._send(row), name=f"outbox-{row.id}")
        if claimed or self._flying:
            return self.commit_every
        return 0.0 if outcomes else max(wait, 0.01)

    def _claimable(self) -> int:
        """How many rows to hold at once: enough to keep the pace through a round trip and
        a batch's wait, at most ``in_flight``. Fewer held means fewer lost at a crash."""
        if self._round_trip is None:
            return self.in_flight
        needed = self.pace.per_second * 1.25 * (self._round_trip + self.commit_every)
        return max(1, min(self.in_flight, math.ceil(needed) + 2))

    def _observe(self, seconds: float) -> None:
        if self._round_trip is None:
            self._round_trip = seconds
        else:
            self._round_trip += 0.2 * (seconds - self._round_trip)
        # The network's own share of a round trip is its shortest one: a stable estimate
        # (a moving one would shift the window and let a burst through).
        self.pace.one_way = min(self.pace.one_way or math.inf, seconds / 2)

    async def _send(self, row: Claimed) -> None:
        """Send one claimed row and leave its outcome for the next batch."""
        left = False
        outcome: Outcome
        try:
            taken = await self._leave(row)
            if taken is None:
                outcome = Outcome(row, "released", error="the bot stopped before sending")
            else:
                left = True
                outcome = await self._attempt(row, taken)
        except asyncio.CancelledError:
            if left:
                outcome = Outcome(row, "lost", error="the bot stopped with the request in flight")
            else:
                outcome = Outcome(row, "released", error="the bot stopped before sending")
            self._done(row, outcome)
            raise
        except Exception as exc:  # never leave a claimed row without an outcome
            log.exception("outbox row %d could not be sent", row.id)
            outcome = Outcome(row, "lost" if left else "released", error=str(exc)[:200])
        self._done(row, outcome)

    def _done(self, row: Claimed, outcome: Outcome) -> None:
        self._flying.pop(row.id, None)
        self._outcomes.append(outcome)
        self._wake.set()

    async def _leave(self, row: Claimed) -> float | None:
        """Wait for the chat's and the bot's budget, then count the message; None when
        the bot stops first."""
        while not self._stopping:
            chat_wait = self.pace.chat_wait(row.telegram_id)
            if chat_wait <= 0:
                break
            await self._sleep(chat_wait)
        async with self._gate:
            while not self._stopping:
                wait = max(self.pace.wait(), self.pace.chat_wait(row.telegram_id))
                if wait <= 0:
                    return self.pace.take(row.telegram_id)
                await self._sleep(wait)
        return None

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)

    async def _attempt(self, row: Claimed, taken: float) -> Outcome:
        started = time.monotonic()
        try:
            message = await self._deliver(row)
        except RetryAfter as exc:
            seconds = _seconds(exc)
            self.pace.give_back(row.telegram_id, taken)
            self.pace.pause(seconds)
            log.info("flood control: waiting %.1fs (row %d)", seconds, row.id)
            return Outcome(
                row, "retry", error=str(exc), not_before=time.time() + seconds, counts=False
            )
        except Forbidden as exc:
            self.pace.give_back(row.telegram_id, taken)
            return Outcome(row, "unreachable", error=str(exc))
        except BadRequest as exc:
            if row.file_id is not None and any(s in str(exc).lower() for s in _STALE_FILE):
                log.info("file %s no longer known to Telegram: uploading it again", row.file)
                return self._retry_or_fail(row, exc, forget_file_id=True)
            return self._retry_or_fail(row, exc)
        except NetworkError as exc:  # includes TimedOut
            if _ambiguous(exc):
                log.warning("no answer for outbox row %d: marked lost (%s)", row.id, exc)
                return Outcome(row, "lost", error=f"no answer from Telegram: {exc}")
            return self._retry_or_fail(row, exc)
        except TelegramError as exc:
            return self._retry_or_fail(row, exc)
        except Exception:  # a payload PTB refuses before sending: no retry would help
            log.exception("outbox row %d could not be sent", row.id)
            return Outcome(row, "failed", error="could not be sent")
        self._observe(time.monotonic() - started)
        self.pace.settle(taken, started)
        return Outcome(
            row,
            "delivered",
            message_id=message.message_id,
            file_id=_file_id(message, row.file_kind) if row.file is not None else None,
        )

    def _retry_or_fail(
        self, row: Claimed, exc: TelegramError, *, forget_file_id: bool = False
    ) -> Outcome:
        if row.attempts >= self.max_attempts:
            log.warning("outbox row %d failed after %d attempts: %s", row.id, row.attempts, exc)
            return Outcome(row, "failed", error=str(exc), forget_file_id=forget_file_id)
        delay = self.backoff * 2 ** (row.attempts - 1)
        return Outcome(
            row,
            "retry",
            error=str(exc),
            not_before=time.time() + delay,
            forget_file_id=forget_file_id,
        )

    async def _deliver(self, row: Claimed) -> Message:
        markup = None
        if row.buttons:
            markup = InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(text, callback_data=data) for text, data in line]
                    for line in row.buttons
                ]
            )
        if row.file is not None:
            content: str | bytes | None = row.file_id or row.file_data
            if content is None:  # pragma: no cover - claimed rows carry one or the other
                raise ValueError(f"file {row.file} has neither an id nor data")
            if row.file_kind == "document":
                return await self.bot.send_document(
                    row.telegram_id,
                    document=content,
                    filename=row.file_name if row.file_id is None else None,
                    caption=row.text or None,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
            return await self.bot.send_photo(
                row.telegram_id,
                photo=content,
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

    def _follow_soon(self) -> None:
        """Follow the notices in the background: the batches go on meanwhile."""
        self._next_follow = time.monotonic() + self.progress_every
        if self._follower is None or self._follower.done():
            self._follower = asyncio.create_task(self._follow_safely(), name="outbox-progress")

    async def _follow_safely(self) -> None:
        try:
            await self._follow()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("following the notices failed; trying again shortly")

    async def _follow(self) -> None:
        """Edit progress messages, and finish the notices that have nothing left to send."""
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
        async with self._gate:
            while not self._stopping and self.pace.wait() > 0:
                await self._sleep(self.pace.wait())
            if self._stopping:
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
        self._shown[notice.id] = text
        self._shown_at[notice.id] = now
