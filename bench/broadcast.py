"""One notice to 1,000 delegates under Telegram's flood limits: the outbox and its Sender,
then the same broadcast as a plain loop over ``bot.send_message``, side by side.

    python -m bench.broadcast [--users 1000] [--blocked 20]

Everything runs in this process against the fake Bot API server on 127.0.0.1 with flood
control on (30 messages a second overall, about 1 a second per chat). The real
Application runs with long polling, so a few secretariat accounts can send /help during
each broadcast: their answer time is the latency a delegate would see. Each phase is
bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram.error import Forbidden, RetryAfter, TelegramError

from bot import notices
from bot.app import build_application, services
from bot.botapi.server import BotAPIServer, FakeUser, FloodLimits
from bot.config import Settings
from bot.delivery import status
from bot.demo import MEMBERS_CSV, load
from bot.store import Database

TOKEN = "123456:BENCH-TOKEN-0000000000000"
CREATOR = 900  # the secretariat account that sends the notice
ASKERS = (901, 902, 903)  # secretariat accounts asking /help during the broadcast
PROBE_EVERY = 1.0  # one /help a second in all, each asker once every three seconds
MEMBERS = [line.split(",")[0] for line in MEMBERS_CSV.strip().splitlines()[1:]]


@dataclass
class Result:
    name: str
    recipients: int = 0
    delivered: int = 0
    unreachable: int = 0
    duplicates: int = 0
    lost: int | None = 0
    seconds: float = 0.0
    bot_messages: int = 0  # every message and edit the bot sent meanwhile
    answers_429: int = 0
    unhandled_429: int = 0
    other_errors: int = 0
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
            " joined_at) VALUES (?, 'en', ?, ?, 'delegate', '2026-01-01T00:00:00+00:00')",
            [(i, f"Delegate{i}", MEMBERS[i % len(MEMBERS)]) for i in ids],
        )
    return [
        server.user(i, f"Delegate{i}", language_code="en", started=True, blocked=i in blocked_ids)
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


def copies(users: list[FakeUser], marker: str) -> list[int]:
    return [sum(marker in m.text for m in u.inbox) for u in users]


async def run_outbox(app: Any, server: BotAPIServer, users: list[FakeUser], limit: float) -> Result:
    db = services(app).db
    result = Result("outbox + Sender")
    progress = await app.bot.send_message(CREATOR, "Sending…")
    server.reset_stats()
    done = asyncio.Event()
    prober = asyncio.create_task(probe(server, result, done))
    started = time.monotonic()
    notice, result.recipients = await notices.create(
        db,
        "all",
        {"all": "Outbox notice"},
        current_year=notices.current_year("Asia/Riyadh"),
        good_standing_years=3,
        created_by=CREATOR,
        progress=(CREATOR, progress.message_id),
    )
    while time.monotonic() - started < limit:
        if not (await status(db, notice))["pending"]:
            break
        await asyncio.sleep(0.01)
    result.seconds = time.monotonic() - started
    done.set()
    await prober
    counts = await status(db, notice)
    stats = server.stats()
    result.delivered = counts["delivered"]
    result.unreachable = counts["unreachable"]
    result.lost = counts["lost"]
    result.answers_429 = stats["rejected_429"]
    failed = await db.all(
        "SELECT error FROM outbox WHERE notice = ? AND state IN ('failed', 'pending')", (notice,)
    )
    result.unhandled_429 = sum("flood" in (r[0] or "").lower() for r in failed)
    result.other_errors = len(failed) - result.unhandled_429
    result.bot_messages = stats["sent"] + stats["edits"]
    result.duplicates = sum(n > 1 for n in copies(users, "Outbox notice"))
    return result


async def run_plain_loop(
    app: Any, server: BotAPIServer, users: list[FakeUser], limit: float
) -> Result:
    """What a handler would do without an outbox: await send_message for each delegate,
    through the application's bot and its AIORateLimiter."""
    result = Result("plain send_message loop", recipients=len(users), lost=None)
    server.reset_stats()
    done = asyncio.Event()
    prober = asyncio.create_task(probe(server, result, done))
    started = time.monotonic()
    for user in users:
        if time.monotonic() - started > limit:
            result.other_errors += 1
            continue
        try:
            await app.bot.send_message(user.id, "Loop notice")
            result.delivered += 1
        except Forbidden:
            result.unreachable += 1
        except RetryAfter:
            result.unhandled_429 += 1
        except TelegramError:
            result.other_errors += 1
    result.seconds = time.monotonic() - started
    done.set()
    await prober
    stats = server.stats()
    result.answers_429 = stats["rejected_429"]
    result.bot_messages = stats["sent"] + stats["edits"]
    result.duplicates = sum(n > 1 for n in copies(users, "Loop notice"))
    return result


def report(results: list[Result], limits: FloodLimits, users: int, blocked: int) -> None:
    print(
        f"\nOne notice to {users} delegates ({blocked} blocked the bot); fake Bot API server with"
        f" flood control: {limits.per_second} messages/s overall, {limits.chat_rate:g}/s per chat"
        f" (burst {limits.chat_burst:g}); /help sent once a second during each broadcast.\n"
    )

    def ms(value: float) -> str:
        return "-" if math.isnan(value) else f"{value * 1000:.0f} ms"

    rows = [
        ("delivered", lambda r: f"{r.delivered} of {r.recipients}"),
        ("unreachable (403)", lambda r: str(r.unreachable)),
        ("time (s)", lambda r: f"{r.seconds:.1f}"),
        ("effective rate (messages/s)", lambda r: f"{r.rate:.1f}"),
        ("  vs the server's global limit", lambda r: f"{100 * r.rate / limits.per_second:.1f}%"),
        (
            "  all bot messages and edits/s",
            lambda r: f"{r.bot_messages / r.seconds:.1f}" if r.seconds else "-",
        ),
        (
            "  vs the server's global limit",
            lambda r: (
                f"{100 * r.bot_messages / r.seconds / limits.per_second:.1f}%" if r.seconds else "-"
            ),
        ),
        ("duplicates", lambda r: str(r.duplicates)),
        ("lost", lambda r: "not tracked" if r.lost is None else str(r.lost)),
        ("429 answers received", lambda r: str(r.answers_429)),
        ("unhandled 429s (message not sent)", lambda r: str(r.unhandled_429)),
        ("other errors", lambda r: str(r.other_errors)),
        (
            "/help answered",
            lambda r: f"{len(r.latencies)} of {len(r.latencies) + r.unanswered}",
        ),
        ("/help latency p50", lambda r: ms(r.p(0.50))),
        ("/help latency p99 (target < 1 s)", lambda r: ms(r.p(0.99))),
        ("/help latency max", lambda r: ms(r.p(1.0))),
    ]
    width = max(len(label) for label, _ in rows) + 2
    print(" " * width + "".join(f"{r.name:>26}" for r in results))
    for label, cell in rows:
        print(f"{label:<{width}}" + "".join(f"{cell(r):>26}" for r in results))
    sender = results[0]
    ok = (
        sender.rate >= 0.9 * limits.per_second
        and sender.duplicates == 0
        and sender.lost == 0
        and sender.unhandled_429 == 0
        and sender.p(0.99) < 1.0
    )
    print(
        f"\noutbox targets (rate >= 90%, no duplicate, none lost, no unhandled 429, p99 < 1 s): "
        f"{'met' if ok else 'NOT met'}"
    )


async def bench(users: int, blocked: int) -> None:
    limits = FloodLimits()
    limit = max(60.0, users / limits.per_second * 4)  # each phase's time bound
    async with BotAPIServer(
        TOKEN, flood=True, limits=limits, bot_username="oicc_bench_bot"
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
            )
            db = await Database(settings.database_path).open()
            await load(db, notices.current_year(settings.timezone))
            delegates = await register(db, server, users, blocked)
            await db.close()
            for account in (CREATOR, *ASKERS):
                server.user(account, f"Secretariat{account}", language_code="en", started=True)

            app = build_application(settings)
            for name in ("telegram", "bot", "httpx", "apscheduler", "aiohttp"):
                logging.getLogger(name).setLevel(logging.CRITICAL)
            await app.initialize()
            assert app.post_init is not None and app.post_shutdown is not None
            await app.post_init(app)
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            try:
                print(f"broadcasting to {users} delegates through the outbox...", flush=True)
                outbox_result = await run_outbox(app, server, delegates, limit)
                await asyncio.sleep(2)  # let the per-chat buckets refill
                print(f"broadcasting to {users} delegates with a plain loop...", flush=True)
                loop_result = await run_plain_loop(app, server, delegates, limit)
            finally:
                await app.updater.stop()
                await app.stop()
                await app.post_shutdown(app)
                await app.shutdown()
    report([outbox_result, loop_result], limits, users, blocked)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast", description=__doc__)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--blocked", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(bench(args.users, args.blocked))


if __name__ == "__main__":
    main()
