"""A broadcast to 600 delegates under Telegram's flood limits, at several round trips: the
outbox and its Sender, a plain send loop, and PTB's AIORateLimiter, side by side.

    python -m bench.broadcast [--rtt 0,100,250] [--users 600] [--blocked 12]
                              [--in-flight 16] [--loop-limit 30]

For each round trip (milliseconds, added by the Bot API server to every request: half on
the way in, half on the way back) a fresh Bot API server with Telegram's flood control
(30 messages a second overall, about one a second per chat) and a fresh database. The
real Application runs with long polling, and secretariat accounts send /help once a second
during each broadcast: the time to its answer is what a delegate would wait meanwhile.
Two broadcasts are sent each way:

- a notice (text) to every delegate;
- a results announcement: the chart of an election (a PNG rendered by the bot's own chart
  code, one per language) with the result as its caption.

The three ways:

- **outbox**: ``bot.notices`` / ``bot.outbox.queue`` and the application's Sender
  (``OUTBOX_IN_FLIGHT`` requests in flight, paced, at most one per chat, files uploaded
  once and re-sent by file id);
- **plain loop**: ``await bot.send_message`` (or ``send_photo`` with the bytes) for each
  delegate in turn, sleeping ``retry_after`` and trying again on a 429; bounded in time
  (``--loop-limit`` seconds), its rate is over the time it ran;
- **AIORateLimiter**: every send started at once through a bot with PTB's
  ``AIORateLimiter`` (its defaults: 30/s overall, retries after a 429), as PTB suggests.

Everything runs in this process, on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Bot
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import AIORateLimiter, ExtBot

from bot import elections, notices, outbox
from bot.app import build_application, services
from bot.botapi.server import BotAPIServer, FakeUser, FloodLimits
from bot.config import Settings
from bot.delivery import IN_FLIGHT, status
from bot.demo import MEMBERS_CSV, load
from bot.store import Database

TOKEN = "123456:BENCH-TOKEN-0000000000000"
CREATOR = 900  # the secretariat account that sends the notice
ASKERS = (901, 902, 903)  # secretariat accounts asking /help during the broadcast
PROBE_EVERY = 1.0  # one /help a second in all, each asker once every three seconds
MEMBERS = [line.split(",")[0] for line in MEMBERS_CSV.strip().splitlines()[1:]]
LANGUAGES = ("ar", "en", "fr")
SENDS = ("sendMessage", "sendPhoto")


@dataclass
class Result:
    way: str
    recipients: int = 0
    delivered: int = 0
    unreachable: int = 0
    duplicates: int = 0
    lost: int = 0
    seconds: float = 0.0
    answers_429: int = 0
    answers_429_users: int = 0  # of which to the people asking /help
    not_sent: int = 0  # gave up, or the time bound ran out
    uploaded: int = 0  # bytes of photos uploaded
    latencies: list[float] = field(default_factory=list)
    unanswered: int = 0

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def register(db: Database, server: BotAPIServer, users: int, blocked: int) -> list[FakeUser]:
    ids = range(10_000, 10_000 + users)
    step = max(1, users // max(blocked, 1))
    blocked_ids = set(list(ids)[::step][:blocked])
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO users (telegram_id, telegram_language, first_name, member, role,"
            " joined_at) VALUES (?, ?, ?, ?, 'delegate', '2026-01-01T00:00:00+00:00')",
            [(i, LANGUAGES[i % 3], f"Delegate{i}", MEMBERS[i % len(MEMBERS)]) for i in ids],
        )
    return [
        server.user(
            i,
            f"Delegate{i}",
            language_code=LANGUAGES[i % 3],
            started=True,
            blocked=i in blocked_ids,
        )
        for i in ids
    ]


async def probe(server: BotAPIServer, result: Result, done: asyncio.Event) -> None:
    """/help from the askers in turn, one a second, until ``done``."""
    turn = 0
    while not done.is_set():
        user = server.user(ASKERS[turn % len(ASKERS)])
        turn += 1
        asked = time.monotonic()
        await user.send("/help")
        try:
            await user.expect("What you can do", timeout=10)
            result.latencies.append(time.monotonic() - asked)
        except AssertionError:
            result.unanswered += 1
            user.skip()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), max(0.0, PROBE_EVERY - (time.monotonic() - asked)))


def charts() -> dict[str, bytes]:
    """The chart of a council election, as the bot draws it, one per language."""
    labels = {
        "en": ["Cairo", "Dakar", "Istanbul", "Rabat", "Tunis"],
        "fr": ["Le Caire", "Dakar", "Istanbul", "Rabat", "Tunis"],
        "ar": ["القاهرة", "داكار", "إسطنبول", "الرباط", "تونس"],
    }
    words = {"en": "votes", "fr": "voix", "ar": "الأصوات"}
    titles = {"en": "Council election", "fr": "Élection du Conseil", "ar": "انتخاب المجلس"}
    return {
        language: elections.chart(
            labels[language],
            [212, 187, 143, 40, 18],
            [True, True, True, False, False],
            titles[language],
            words[language],
        )
        for language in LANGUAGES
    }


def caption(marker: str, language: str) -> str:
    return f"<b>{marker}</b> ({language}): Cairo, Dakar and Istanbul are elected."


class Phase:
    """One broadcast: starts the /help probe, and afterwards reads what the server saw."""

    def __init__(self, server: BotAPIServer, users: list[FakeUser], result: Result) -> None:
        self.server = server
        self.users = users
        self.result = result
        self.recipients = {u.id for u in users}

    async def __aenter__(self) -> Phase:
        self.server.reset_stats()
        self.since = time.time()
        self.started = time.monotonic()
        self.done = asyncio.Event()
        self.prober = asyncio.create_task(probe(self.server, self.result, self.done))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.done.set()
        await self.prober

    def finish(self, marker: str) -> None:
        """Time to the last delivery, copies per delegate, 429s and bytes uploaded."""
        result = self.result
        calls = [
            c
            for c in list(self.server.requests)
            if c.at >= self.since
            and c.method in SENDS
            and c.status == 200
            and int(c.params.get("chat_id", 0)) in self.recipients
        ]
        last = max((c.at for c in calls), default=self.since)
        result.seconds = max(last - self.since, 1e-9)
        result.uploaded = sum(
            int(c.params["photo"].rsplit(", ", 1)[1].split()[0])
            for c in calls
            if c.method == "sendPhoto" and c.params.get("photo", "").startswith("<file")
        )
        copies = [sum(marker in m.text for m in u.inbox) for u in self.users]
        result.delivered = sum(n > 0 for n in copies)
        result.duplicates = sum(n > 1 for n in copies)
        result.answers_429 = self.server.stats()["rejected_429"]
        result.answers_429_users = sum(
            1
            for c in list(self.server.requests)
            if c.at >= self.since
            and c.status == 429
            and int(c.params.get("chat_id", 0) or 0) not in self.recipients
        )


async def run_outbox(
    app: Any,
    server: BotAPIServer,
    users: list[FakeUser],
    limit: float,
    photos: dict[str, bytes] | None,
) -> Result:
    db = services(app).db
    result = Result("outbox", recipients=len(users))
    marker = f"Outbox {'result' if photos else 'notice'}"
    async with Phase(server, users, result) as phase:
        if photos is None:
            notice, _ = await notices.create(
                db,
                "all",
                {"all": marker},
                current_year=notices.current_year("Asia/Riyadh"),
                good_standing_years=3,
                actor="bench",
            )
        else:
            messages = [
                outbox.Outgoing(
                    u.id,
                    LANGUAGES[u.id % 3],
                    caption(marker, LANGUAGES[u.id % 3]),
                    photo=photos[LANGUAGES[u.id % 3]],
                )
                for u in users
            ]
            notice = await outbox.queue(db, "result", messages, ref="bench", actor="bench")
        while time.monotonic() - phase.started < limit:
            if not (await status(db, notice))["pending"]:
                break
            await asyncio.sleep(0.25)
    phase.finish(marker)
    counts = await status(db, notice)
    result.unreachable = counts["unreachable"]
    result.lost = counts["lost"]
    result.not_sent = counts["failed"] + counts["pending"]
    return result


async def send_one(bot: Bot, user: FakeUser, marker: str, photos: dict[str, bytes] | None) -> None:
    language = LANGUAGES[user.id % 3]
    if photos is None:
        await bot.send_message(user.id, marker)
    else:
        await bot.send_photo(
            user.id, photos[language], caption=caption(marker, language), parse_mode="HTML"
        )


async def outcome(result: Result, send: Callable[[], Awaitable[None]]) -> float | None:
    """Send and count the outcome; the seconds to wait before trying again after a 429."""
    try:
        await send()
    except RetryAfter as exc:
        value: Any = exc._retry_after  # the public property warns about its coming type
        return value.total_seconds() if hasattr(value, "total_seconds") else float(value)
    except Forbidden:
        result.unreachable += 1
    except TimedOut:
        result.lost += 1  # may or may not have arrived
    except (NetworkError, TelegramError):
        result.not_sent += 1
    return None


async def run_plain_loop(
    server: BotAPIServer, users: list[FakeUser], limit: float, photos: dict[str, bytes] | None
) -> Result:
    """What a handler would write without an outbox: one send after the other."""
    result = Result("plain loop", recipients=len(users))
    marker = f"Loop {'result' if photos else 'notice'}"
    bot = server.bot()
    await bot.initialize()
    try:
        async with Phase(server, users, result) as phase:
            for user in users:
                while time.monotonic() - phase.started < limit:
                    wait = await outcome(result, lambda u=user: send_one(bot, u, marker, photos))
                    if wait is None:
                        break
                    await asyncio.sleep(wait)
                else:
                    result.not_sent += 1
        phase.finish(marker)
    finally:
        await bot.shutdown()
    return result


async def run_rate_limiter(
    server: BotAPIServer, users: list[FakeUser], limit: float, photos: dict[str, bytes] | None
) -> Result:
    """PTB's way: every send at once, through AIORateLimiter (its defaults)."""
    result = Result("AIORateLimiter", recipients=len(users))
    marker = f"Limiter {'result' if photos else 'notice'}"
    bot: ExtBot[Any] = ExtBot(
        TOKEN,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        rate_limiter=AIORateLimiter(),
    )
    await bot.initialize()
    try:
        async with Phase(server, users, result) as phase:

            async def one(user: FakeUser) -> None:
                if await outcome(result, lambda: send_one(bot, user, marker, photos)) is not None:
                    result.not_sent += 1  # AIORateLimiter gave up after its retries

            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(one(u) for u in users)), max(0.0, limit))
        phase.finish(marker)
    finally:
        await bot.shutdown()
    return result


def report(rtt: int, scenario: str, results: list[Result], limits: FloodLimits) -> None:
    print(f"\n--- round trip {rtt} ms: {scenario} ---")

    def ms(value: float) -> str:
        return "-" if math.isnan(value) else f"{value * 1000:.0f} ms"

    rows: list[tuple[str, Callable[[Result], str]]] = [
        ("delivered", lambda r: f"{r.delivered} of {r.recipients}"),
        ("unreachable (403)", lambda r: str(r.unreachable)),
        ("not sent (gave up, out of time)", lambda r: str(r.not_sent)),
        ("time to last delivery (s)", lambda r: f"{r.seconds:.1f}"),
        ("messages/s", lambda r: f"{r.rate:.1f}"),
        ("% of the limit (30/s)", lambda r: f"{100 * r.rate / limits.per_second:.0f}%"),
        ("duplicates", lambda r: str(r.duplicates)),
        ("lost", lambda r: str(r.lost)),
        ("429 answers", lambda r: str(r.answers_429)),
        ("  of which to /help answers", lambda r: str(r.answers_429_users)),
        ("/help answered", lambda r: f"{len(r.latencies)} of {len(r.latencies) + r.unanswered}"),
        ("/help p50", lambda r: ms(r.p(0.50))),
        ("/help p99", lambda r: ms(r.p(0.99))),
    ]
    if scenario.startswith("results"):
        rows.append(("photo bytes uploaded", lambda r: f"{r.uploaded / 1e6:.2f} MB"))
    width = max(len(label) for label, _ in rows) + 2
    print(" " * width + "".join(f"{r.way:>18}" for r in results))
    for label, cell in rows:
        print(f"{label:<{width}}" + "".join(f"{cell(r):>18}" for r in results))


def verdict(result: Result, limits: FloodLimits) -> bool:
    return (
        result.rate >= 0.9 * limits.per_second
        and result.duplicates == 0
        and not result.unanswered
        and result.p(0.99) < 1.0
    )


async def bench_rtt(
    rtt: int, users: int, blocked: int, in_flight: int, loop_limit: float, ways: set[str]
) -> list[tuple[str, Result]]:
    limits = FloodLimits()
    limit = max(60.0, users / limits.per_second * 4)  # each outbox or limiter phase's bound
    photos = charts()
    found: list[tuple[str, Result]] = []
    async with BotAPIServer(
        TOKEN, flood=True, limits=limits, bot_username="oicc_bench_bot", rtt=rtt / 1000
    ) as server:
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(
                bot_token=TOKEN,
                telegram_api_url=server.base_url,
                database_path=str(Path(folder) / "bench.sqlite3"),
                secretariat_ids=frozenset({CREATOR, *ASKERS}),
                bot_username=server.bot_username,
                user_commands_per_minute=0,
                log_level="WARNING",
                outbox_in_flight=in_flight,
            )
            db = await Database(settings.database_path).open()
            await load(db, notices.current_year(settings.timezone), meeting=False)
            delegates = await register(db, server, users, blocked)
            await db.close()
            for account in (CREATOR, *ASKERS):
                server.user(account, f"Secretariat{account}", language_code="en", started=True)

            app = build_application(settings)
            for name in ("telegram", "bot", "handlers", "httpx", "apscheduler", "aiohttp"):
                logging.getLogger(name).setLevel(logging.CRITICAL)
            await app.initialize()
            assert app.post_init is not None and app.post_shutdown is not None
            await app.post_init(app)
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            try:
                for scenario, chart in (("notice", None), ("results with a chart", photos)):
                    results = []
                    for way in ("outbox", "loop", "limiter"):
                        if way not in ways:
                            continue
                        print(f"  {rtt} ms, {scenario}, {way}...", flush=True)
                        if way == "outbox":
                            results.append(await run_outbox(app, server, delegates, limit, chart))
                        elif way == "loop":
                            results.append(
                                await run_plain_loop(server, delegates, loop_limit, chart)
                            )
                        else:
                            results.append(await run_rate_limiter(server, delegates, limit, chart))
                        await asyncio.sleep(3)  # the per-chat budgets refill
                    report(rtt, f"{scenario} to {users} delegates", results, limits)
                    found.extend((scenario, r) for r in results)
            finally:
                await app.updater.stop()
                await app.stop()
                await app.post_shutdown(app)
                await app.shutdown()
    return found


async def bench(args: argparse.Namespace) -> None:
    rtts = [int(v) for v in args.rtt.split(",") if v.strip()]
    ways = set(args.ways.split(","))
    print(
        f"Broadcasts to {args.users} delegates ({args.blocked} blocked the bot), flood control"
        f" on (30/s overall, ~1/s per chat), OUTBOX_IN_FLIGHT={args.in_flight},"
        f" /help once a second meanwhile; plain loop bounded to {args.loop_limit:g} s.",
        flush=True,
    )
    summary: list[tuple[int, str, Result]] = []
    for rtt in rtts:
        for scenario, result in await bench_rtt(
            rtt, args.users, args.blocked, args.in_flight, args.loop_limit, ways
        ):
            summary.append((rtt, scenario, result))
    limits = FloodLimits()
    print("\noutbox targets (>= 90% of the limit, 0 duplicates, /help p99 < 1 s):")
    for rtt, scenario, result in summary:
        if result.way == "outbox":
            state = "met" if verdict(result, limits) else "NOT met"
            print(
                f"  {rtt:>4} ms  {scenario:<22} {result.rate:5.1f}/s"
                f" ({100 * result.rate / limits.per_second:.0f}%), {result.duplicates} duplicates,"
                f" {result.lost} lost, p99 {result.p(0.99) * 1000:.0f} ms: {state}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast", description=__doc__)
    parser.add_argument("--rtt", default="0,100,250", help="round trips in ms, comma-separated")
    parser.add_argument("--users", type=int, default=600)
    parser.add_argument("--blocked", type=int, default=12)
    parser.add_argument("--in-flight", type=int, default=IN_FLIGHT)
    parser.add_argument("--loop-limit", type=float, default=30.0)
    parser.add_argument("--ways", default="outbox,loop,limiter")
    args = parser.parse_args()
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
