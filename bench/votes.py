"""Vote benchmark: 300 delegates confirm their vote at the same instant.

Run ``python -m bench.votes`` (``--help`` for the options). It builds a registry of 300
member cities in a temporary SQLite file, registers one delegate per member (the delegate
of M001 is the chair), opens a General Conference session with every member checked in,
has the chair call the quorum and open ``/motion 1`` through the real bot, and waits until
the outbox has delivered all 300 ballots. Then every delegate presses Yes at once, and
once every ballot shows Confirm, every delegate presses Confirm at once. For each Confirm
press it measures the time to the bot's answerCallbackQuery and to the edit of the ballot
that shows the vote recorded. The same 300 presses are then sent to a minimal PTB bot
(concurrent updates, one CallbackQueryHandler that only answers) for comparison, and at
the end the database is checked: every vote on disk exactly once.

Where things run. The fake Bot API server (flood limits off) and the simulated delegates
live in this process; the bot under test runs in a child process of its own
(``python -m bench.votes --child real|minimal``). Running the bot in the same event loop as
the server, as the end-to-end tests do, would charge the server's work (HTTP, JSON, HTML
parsing, storing every message) to the bot's latencies, and on two cores it would leave
one core idle. Driving a ``python -m bot.botapi`` subprocess through its ControlClient
would separate them too, but the control API reports no times: a press answered at
12.031 s could only be seen by polling. With the server here, a subclass stamps every
answerCallbackQuery and every edit with ``time.perf_counter()`` the moment it arrives, and
both processes share the machine's monotonic clock, so no figure depends on polling.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import importlib.util
import io
import itertools
import json
import math
import os
import pstats
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from bot.botapi.server import BotAPIServer, FakeUser, SentMessage, visible

TOKEN = "123456:BENCH-VOTES-TOKEN"
BOT_USERNAME = "oicc_bench_bot"
MEMBERS = 300
FIRST_USER = 10_001  # Telegram id of the delegate of M001 (the chair); M002 is 10_002, ...
REGIONS = ("african", "arab", "asian")
ALLOWED_UPDATES = ["message", "callback_query"]  # as ``oicc-bot run`` polls

# Time limits, in seconds. The whole run normally takes well under a minute.
RUN_LIMIT = 240.0
CHILD_READY_LIMIT = 60.0
CHILD_STOP_LIMIT = 30.0
STEP_LIMIT = 30.0  # one reply of the bot to the chair
BALLOTS_LIMIT = 90.0  # 300 ballots at the outbox's pace of 29 a second take ~11 s
PHASE_LIMIT = 90.0  # 300 presses answered and their ballots edited
POLL = 0.005  # how often the driver looks at the server's state (times come from the server)

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------------------------
# The Bot API server, with times


@dataclass
class Edit:
    at: float
    chat_id: int
    message_id: int
    text: str
    buttons: tuple[str, ...]


class TimedServer(BotAPIServer):
    """The fake Bot API server, noting when each answer and each edit arrives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answered: dict[str, tuple[float, str | None]] = {}
        self.edit_log: list[Edit] = []

    async def _answer_callback_query(self, params: Any) -> bool:
        ok = await super()._answer_callback_query(params)
        self.answered[params.text("callback_query_id") or ""] = (
            time.perf_counter(),
            params.text("text"),
        )
        return ok

    def _apply_edit(self, user: Any, message: SentMessage, version: Any) -> Any:
        result = super()._apply_edit(user, message, version)
        markup = version.reply_markup or {}
        buttons = tuple(b["text"] for row in markup.get("inline_keyboard", []) for b in row)
        self.edit_log.append(
            Edit(time.perf_counter(), message.chat_id, message.message_id, version.text, buttons)
        )
        return result


# --------------------------------------------------------------------------------------------
# Figures


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:,.0f} ms"


@dataclass
class Phase:
    """300 presses queued at once, and what the bot did with them."""

    name: str
    pressed: dict[str, float] = field(default_factory=dict)  # query id -> press time
    ballots: dict[str, tuple[int, int]] = field(default_factory=dict)  # query id -> ballot
    answer: dict[str, float] = field(default_factory=dict)  # query id -> latency
    answer_texts: Counter[str] = field(default_factory=Counter)
    shown: dict[str, float] = field(default_factory=dict)  # query id -> latency of the edit
    first_press: float = math.nan
    cpu: float = math.nan  # CPU share of this process (server, delegates), press to answers
    last_press: float = math.nan
    last_answer: float = math.nan
    first_shown: float = math.nan
    last_shown: float = math.nan

    def answered_per_second(self) -> float:
        return len(self.answer) / (self.last_answer - self.first_press)

    def shown_per_second(self) -> float:
        return len(self.shown) / (self.last_shown - self.first_press)


async def wait_until(check: Callable[[], bool], limit: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not check():
        if loop.time() >= deadline:
            raise TimeoutError(f"timed out after {limit:.0f}s waiting for {what}")
        await asyncio.sleep(POLL)


async def press_all(
    server: TimedServer,
    name: str,
    targets: list[tuple[FakeUser, SentMessage, str]],
    shown: Callable[[Edit], bool] | None,
) -> Phase:
    """Queue every press at once (button text, or ``data:...`` for raw callback data),
    then wait for every answer and, with ``shown``, for every ballot edit it matches."""
    phase = Phase(name)
    edits_before = len(server.edit_log)
    cpu_before = time.process_time()
    for user, ballot, button in targets:
        at = time.perf_counter()
        if button.startswith("data:"):
            press = await user.press_data(ballot, button.removeprefix("data:"))
        else:
            press = await user.press(ballot, button)
        phase.pressed[press.query_id] = at
        phase.ballots[press.query_id] = (ballot.chat_id, ballot.message_id)
    phase.first_press = min(phase.pressed.values())
    phase.last_press = max(phase.pressed.values())
    await wait_until(
        lambda: all(q in server.answered for q in phase.pressed),
        PHASE_LIMIT,
        f"{name}: the bot's answers ({sum(q in server.answered for q in phase.pressed)}"
        f" of {len(phase.pressed)} so far)",
    )
    for query, at in phase.pressed.items():
        answered_at, text = server.answered[query]
        phase.answer[query] = answered_at - at
        phase.answer_texts[text or ""] += 1
    phase.last_answer = max(server.answered[q][0] for q in phase.pressed)
    phase.cpu = (time.process_time() - cpu_before) / (time.perf_counter() - phase.first_press)
    if shown is None:
        return phase

    wanted = {ballot: query for query, ballot in phase.ballots.items()}
    seen: dict[tuple[int, int], float] = {}

    def scan() -> bool:
        for edit in server.edit_log[edits_before:]:
            key = (edit.chat_id, edit.message_id)
            if key in wanted and key not in seen and shown(edit):
                seen[key] = edit.at
        return len(seen) == len(wanted)

    await wait_until(
        scan, PHASE_LIMIT, f"{name}: the ballots' edits ({len(seen)} of {len(wanted)} so far)"
    )
    for key, at in seen.items():
        query = wanted[key]
        phase.shown[query] = at - phase.pressed[query]
    phase.first_shown = min(seen.values())
    phase.last_shown = max(seen.values())
    return phase


# --------------------------------------------------------------------------------------------
# The bot under test, in a child process


@dataclass
class Child:
    kind: str
    process: asyncio.subprocess.Process
    log_path: Path
    stats_path: Path
    problems: list[str] = field(default_factory=list)  # warnings and errors it logged

    def signal(self, signum: int) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signum)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


async def start_child(
    kind: str, server: TimedServer, db_path: Path, work: Path, profile: str | None
) -> Child:
    log_path = work / f"{kind}.log"
    stats_path = work / f"{kind}.stats.json"
    command = [
        sys.executable,
        "-m",
        "bench.votes",
        "--child",
        kind,
        "--api-url",
        server.base_url,
        "--db",
        str(db_path),
        "--stats",
        str(stats_path),
    ]
    if profile is not None:
        command += ["--profile", str(profile)]
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,  # never written: closed when this process ends
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
    child = Child(kind, process, log_path, stats_path)
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), CHILD_READY_LIMIT)
    except TimeoutError:
        await stop_child(child)
        print(child.log_tail())
        raise RuntimeError(f"the {kind} bot did not start in {CHILD_READY_LIMIT:.0f}s") from None
    if line.strip() != b"READY":
        await stop_child(child)  # prints the end of its log
        raise RuntimeError(f"the {kind} bot did not start")
    return child


async def stop_child(child: Child) -> dict[str, Any]:
    """SIGTERM, a clean shutdown within the limit, else SIGKILL; returns its stats."""
    process = child.process
    if process.returncode is None:
        child.signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), CHILD_STOP_LIMIT)
        except TimeoutError:
            process.kill()
            await process.wait()
            print(f"warning: the {child.kind} bot did not stop in time and was killed")
    if process.stdin is not None:
        process.stdin.close()
    if process.returncode not in (0, None):
        print(f"warning: the {child.kind} bot exited with {process.returncode}:")
        print(child.log_tail())
    with contextlib.suppress(OSError):
        child.problems = [
            line
            for line in child.log_path.read_text(errors="replace").splitlines()
            if any(word in line for word in (" WARNING ", " ERROR ", " CRITICAL ", "Traceback"))
        ]
    try:
        return dict(json.loads(child.stats_path.read_text()))
    except (OSError, ValueError):
        return {}


class TimedLock(asyncio.Lock):
    """The store's lock, noting how long it is waited for and held while ``on``."""

    def __init__(self, instruments: Instruments) -> None:
        super().__init__()
        self.instruments = instruments
        self.taken = 0.0

    async def acquire(self) -> Literal[True]:
        asked = time.perf_counter()
        result = await super().acquire()
        self.taken = time.perf_counter()
        if self.instruments.on:
            self.instruments.lock_waited += self.taken - asked
        return result

    def release(self) -> None:
        if self.instruments.on:
            self.instruments.lock_held += time.perf_counter() - self.taken
        super().release()


class Instruments:
    """In the child: CPU time sampled, and for the real bot the SQL statements, the
    transactions and the time the store's lock is waited for and held, between SIGUSR1
    and SIGUSR2 (the parent sends them around the measured presses); optionally a
    cProfile of the same window. Wraps the store from outside; no code of the bot is
    changed."""

    def __init__(self, profile_path: str | None) -> None:
        self.on = False
        self.started = self.stopped = 0.0
        self.cpu = 0.0  # CPU seconds of the whole process (event loop and SQLite thread)
        self.samples: list[tuple[float, float]] = []  # (perf_counter, process_time)
        self.statements: Counter[str] = Counter()
        self.transactions = 0
        self.snapshots = 0
        self.lock_held = 0.0
        self.lock_waited = 0.0
        self.profile = cProfile.Profile() if profile_path else None
        self.profile_path = profile_path
        self._sampler: asyncio.Task[None] | None = None

    def install(self, store: bool) -> None:
        if store:
            from bot.store import Database, Tx

            for name in ("execute", "insert", "all", "one", "executemany"):
                setattr(Tx, name, self._counted(getattr(Tx, name)))
            Database.transaction = self._held(Database.transaction, "transactions")  # type: ignore[method-assign]
            Database.snapshot = self._held(Database.snapshot, "snapshots")  # type: ignore[method-assign]
            opened = Database.open
            instruments = self

            async def open_timed(db: Database) -> Database:
                db._lock = TimedLock(instruments)
                return await opened(db)

            Database.open = open_timed  # type: ignore[method-assign,assignment]
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, self.begin)
        loop.add_signal_handler(signal.SIGUSR2, self.end)

    async def _sample(self) -> None:
        while self.on:
            self.samples.append((time.perf_counter(), time.process_time()))
            await asyncio.sleep(0.02)

    def _counted(self, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        instruments = self

        async def counted(tx: Any, sql: str, *args: Any) -> Any:
            if instruments.on:
                instruments.statements[" ".join(sql.split())[:90]] += 1
            return await method(tx, sql, *args)

        return counted

    def _held(self, method: Any, counter: str) -> Any:
        instruments = self

        @contextlib.asynccontextmanager
        async def held(db: Any) -> Any:
            if instruments.on:
                setattr(instruments, counter, getattr(instruments, counter) + 1)
            async with method(db) as tx:
                yield tx

        return held

    def begin(self) -> None:
        self.on = True
        self.started = time.perf_counter()
        self.cpu = time.process_time()
        self._sampler = asyncio.get_running_loop().create_task(self._sample())
        if self.profile is not None:
            self.profile.enable()

    def end(self) -> None:
        if self.profile is not None and self.on:
            self.profile.disable()
        if self.on:
            self.cpu = time.process_time() - self.cpu
            self.stopped = time.perf_counter()
            self.samples.append((self.stopped, time.process_time()))
        self.on = False

    def dump(self, path: str) -> None:
        if self.profile is not None and self.profile_path:
            self.profile.dump_stats(self.profile_path)
        Path(path).write_text(
            json.dumps(
                {
                    "window": self.stopped - self.started,
                    "cpu": self.cpu,
                    "statements": sum(self.statements.values()),
                    "top": self.statements.most_common(8),
                    "transactions": self.transactions,
                    "snapshots": self.snapshots,
                    "lock_held": self.lock_held,
                    "lock_waited": self.lock_waited,
                    "samples": self.samples,
                }
            )
        )


async def run_child(args: argparse.Namespace) -> int:
    """The bot under test: ``real`` is the project's Application, ``minimal`` a PTB
    Application whose only handler answers callback queries. Prints READY once polling;
    stops cleanly on SIGTERM or SIGINT, or when the benchmark's process is gone."""
    from telegram import Update
    from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def parent_gone() -> None:  # stdin is a pipe from the benchmark: EOF when it is gone
        with contextlib.suppress(OSError):
            if os.read(sys.stdin.fileno(), 1024):
                return
        loop.remove_reader(sys.stdin.fileno())
        stop.set()

    loop.add_reader(sys.stdin.fileno(), parent_gone)
    instruments = Instruments(args.profile)
    file_url = args.api_url.removesuffix("/bot") + "/file/bot"

    if args.child == "real":
        from bot.app import build_application
        from bot.config import Settings

        settings = Settings(
            bot_token=TOKEN,
            telegram_api_url=args.api_url,
            database_path=args.db,
            bot_username=BOT_USERNAME,
            log_level="WARNING",
        )
        instruments.install(store=True)
        application = build_application(settings)
    else:

        async def answer_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            if update.callback_query is not None:
                await update.callback_query.answer()

        application = (
            ApplicationBuilder()
            .token(TOKEN)
            .base_url(args.api_url)
            .base_file_url(file_url)
            .concurrent_updates(True)
            .build()
        )
        application.add_handler(CallbackQueryHandler(answer_only))
        instruments.install(store=False)

    updater = application.updater
    assert updater is not None
    try:
        await application.initialize()
        if application.post_init is not None:
            await application.post_init(application)  # as run_polling() does
        await application.start()
        await updater.start_polling(poll_interval=0.0, timeout=10, allowed_updates=ALLOWED_UPDATES)
        print("READY", flush=True)
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            if updater.running:
                await asyncio.wait_for(updater.stop(), 10)
        with contextlib.suppress(Exception):
            if application.running:
                await asyncio.wait_for(application.stop(), 10)
        if application.post_shutdown is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(application.post_shutdown(application), 15)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(application.shutdown(), 10)
        instruments.end()
        instruments.dump(args.stats)
    return 0


# --------------------------------------------------------------------------------------------
# The conference


def members_csv() -> str:
    lines = ["code,name_en,name_fr,name_ar,country,region,kind,council,active"]
    for n in range(1, MEMBERS + 1):
        kind = "capital" if n % 4 == 1 else "city"
        council = "elected" if n % 15 == 0 else "none"
        lines.append(
            f"M{n:03d},City {n:03d},Ville {n:03d},مدينة {n:03d},Country {(n + 1) // 2:03d},"
            f"{REGIONS[n % 3]},{kind},{council},true"
        )
    return "\n".join(lines) + "\n"


async def prepare(db_path: Path) -> tuple[int, list[tuple[str, int]]]:
    """Registry, delegates and a General Conference session with everyone checked in,
    written before the bot starts. Returns the meeting and (member, Telegram id) pairs."""
    from bot import clock
    from bot.registry import parse_members
    from bot.store import Database, meetings, people, registry

    db = await Database(str(db_path)).open()
    try:
        members = parse_members(members_csv())
        await registry.import_members(db, members, actor="bench")
        delegates = []
        for n, member in enumerate(members):
            telegram_id = FIRST_USER + n
            role = "chair" if n == 0 else "delegate"
            issued = await people.issue_invitation(
                db, BOT_USERNAME, member.code, role, actor="bench"
            )
            # What /start does: the account is seen with its Telegram language, then bound.
            await people.seen(db, telegram_id, "en")
            redeemed = await people.redeem(
                db, issued.code, telegram_id, f"Delegate {member.code}", None, clock.now()
            )
            assert redeemed is not None
            delegates.append((member.code, telegram_id))
        meeting = await meetings.create_meeting(
            db,
            "gc",
            "ordinary",
            "Bench session",
            clock.now() - timedelta(minutes=1),
            "Asia/Riyadh",
            members[0].code,
            [
                meetings.AgendaItem("1", "Budget", "Budget", "الميزانية"),
                meetings.AgendaItem("2", "Report", "Rapport", "التقرير"),
            ],
            actor="bench",
        )
        for code, telegram_id in delegates:
            assert await meetings.set_attendance(db, meeting, code, True, telegram_id)
    finally:
        await db.close()
    return meeting, delegates


async def check_disk(db_path: Path, meeting: int) -> tuple[bool, list[str]]:
    """Every vote on disk exactly once."""
    from bot.audit import verify_chain
    from bot.store import Database, audit
    from bot.store import meetings as store

    db = await Database(str(db_path)).open()
    try:
        questions = await store.questions_of(db, meeting)
        assert len(questions) == 1, questions
        question = questions[0].id

        async def count(sql: str) -> tuple[int, int]:
            row = await db.one(sql, (question,))
            assert row is not None
            return int(row[0]), int(row[1])

        votes = await count("SELECT count(*), count(DISTINCT member) FROM votes WHERE question = ?")
        part = await count(
            "SELECT count(*), count(DISTINCT member) FROM participation WHERE question = ?"
        )
        roll = await count("SELECT count(*), count(DISTINCT member) FROM roll WHERE question = ?")
        dupes = await db.all(
            "SELECT member FROM votes WHERE question = ? GROUP BY member HAVING count(*) > 1"
            " UNION SELECT member FROM participation WHERE question = ? GROUP BY member"
            " HAVING count(*) > 1",
            (question, question),
        )
        orphans = await db.one(
            "SELECT count(*) FROM votes v LEFT JOIN participation p ON p.question = v.question"
            " AND p.member = v.member WHERE v.question = ? AND p.member IS NULL",
            (question,),
        )
        choices = await db.all(
            "SELECT choice, count(*) FROM votes WHERE question = ? GROUP BY choice", (question,)
        )
        cast = await db.one("SELECT count(*) FROM audit_log WHERE action = 'vote_cast'")
        chain = verify_chain(await audit.entries(db))
    finally:
        await db.close()
    tally = {str(r[0]): int(r[1]) for r in choices}
    ok = (
        votes == part == roll == (MEMBERS, MEMBERS)
        and not dupes
        and orphans is not None
        and int(orphans[0]) == 0
        and tally == {"y": MEMBERS}
        and cast is not None
        and int(cast[0]) == MEMBERS
        and chain is None
    )
    lines = [
        f"question {question}: votes {votes[0]} rows / {votes[1]} members, participation"
        f" {part[0]} rows / {part[1]} members, roll {roll[0]}; duplicates {len(dupes)},"
        f" votes without participation {orphans[0] if orphans else '?'}",
        f"choices {tally}; audit log: {cast[0] if cast else '?'} vote_cast entries, hash chain"
        f" {'intact' if chain is None else f'BROKEN ({chain})'}",
    ]
    return ok, lines


# --------------------------------------------------------------------------------------------
# The run


def two_cores() -> str:
    """At most two CPUs for this process and its children (where the OS lets us say so)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) > 2:
            os.sched_setaffinity(0, cpus[:2])
        return ",".join(map(str, sorted(os.sched_getaffinity(0))))
    except (AttributeError, OSError):
        return f"{os.cpu_count()} (affinity not available)"


async def bench(args: argparse.Namespace, cpus: str) -> int:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="oicc-bench-") as tmp:
        work = Path(tmp)
        db_path = work / "bench.sqlite3"
        meeting, delegates = await prepare(db_path)
        prepared = time.perf_counter() - started

        server = TimedServer(TOKEN, flood=False, bot_username=BOT_USERNAME)
        await server.start()
        children: list[Child] = []
        try:
            users = [
                server.user(telegram_id, f"Delegate {code}", language_code="en", started=True)
                for code, telegram_id in delegates
            ]
            chair = users[0]

            # --- the real bot: quorum, motion, ballots -----------------------------------
            real = await start_child("real", server, db_path, work, args.profile)
            children.append(real)
            await chair.send("/call_quorum")
            await chair.expect("Quorate", timeout=STEP_LIMIT)
            opened = time.perf_counter()
            await chair.send("/motion 1")

            ballots: dict[int, SentMessage] = {}

            def all_ballots() -> bool:
                for user in users:
                    if user.id not in ballots:
                        for message in user.inbox:
                            if "Yes" in message.button_texts:
                                ballots[user.id] = message
                return len(ballots) == len(users)

            await wait_until(all_ballots, BALLOTS_LIMIT, "every ballot to be delivered")
            delivered = time.perf_counter() - opened
            await server.wait_idle(quiet=0.3, timeout=STEP_LIMIT)

            # --- Yes, then Confirm, 300 at once each ---------------------------------------
            yes = await press_all(
                server,
                "Yes",
                [(u, ballots[u.id], "Yes") for u in users],
                lambda e: "Confirm" in e.buttons,
            )
            await server.wait_idle(quiet=0.3, timeout=STEP_LIMIT)
            confirm_data = {u.id: ballots[u.id].button("Confirm")["callback_data"] for u in users}
            real.signal(signal.SIGUSR1)
            await asyncio.sleep(0.05)  # the child handles the signal before the first press
            confirm = await press_all(
                server,
                "Confirm",
                [(u, ballots[u.id], "Confirm") for u in users],
                lambda e: "voted" in visible(e.text),
            )
            real.signal(signal.SIGUSR2)
            await server.wait_idle(quiet=1.5, timeout=STEP_LIMIT)  # the turnout job, once a second
            turnout = next((m for m in chair.inbox if "Turnout" in m.text and m.edits), None)
            children.remove(real)
            stats = await stop_child(real)

            # --- the minimal bot, the same 300 presses -------------------------------------
            leftover = len(server.pending_updates)
            minimal = await start_child(
                "minimal", server, db_path, work, args.profile and args.profile + ".minimal"
            )
            children.append(minimal)
            # A first round warms it up as the Yes phase warmed up the real bot (open
            # connections, imported code); only the second round is measured.
            await press_all(
                server,
                "warm-up (minimal bot)",
                [(u, ballots[u.id], f"data:{confirm_data[u.id]}") for u in users],
                None,
            )
            await server.wait_idle(quiet=0.3, timeout=STEP_LIMIT)
            minimal.signal(signal.SIGUSR1)
            await asyncio.sleep(0.05)
            baseline = await press_all(
                server,
                "Confirm (minimal bot)",
                [(u, ballots[u.id], f"data:{confirm_data[u.id]}") for u in users],
                None,
            )
            minimal.signal(signal.SIGUSR2)
            children.remove(minimal)
            minimal_stats = await stop_child(minimal)
            problems = [f"[real] {line}" for line in real.problems]
            problems += [f"[minimal] {line}" for line in minimal.problems]
        finally:
            for child in children:
                await stop_child(child)
            await server.stop()

        ok, disk = await check_disk(db_path, meeting)
        report(
            args,
            cpus,
            prepared,
            delivered,
            yes,
            confirm,
            baseline,
            stats,
            minimal_stats,
            turnout,
            leftover,
            ok,
            disk,
            problems,
            time.perf_counter() - started,
        )
    return 0 if ok else 1


def cpu_share(stats: dict[str, Any], start: float, end: float) -> float:
    """The child's CPU seconds per second between two instants, from its samples (both
    processes read the same monotonic clock)."""
    samples = stats.get("samples") or []
    if len(samples) < 2 or not samples[0][0] <= start < end <= samples[-1][0]:
        return math.nan

    def at(moment: float) -> float:
        for (t0, c0), (t1, c1) in itertools.pairwise(samples):
            if t0 <= moment <= t1:
                return c0 + (c1 - c0) * ((moment - t0) / (t1 - t0) if t1 > t0 else 0.0)
        return math.nan

    return (at(end) - at(start)) / (end - start)


def report(
    args: argparse.Namespace,
    cpus: str,
    prepared: float,
    delivered: float,
    yes: Phase,
    confirm: Phase,
    baseline: Phase,
    stats: dict[str, Any],
    minimal_stats: dict[str, Any],
    turnout: SentMessage | None,
    leftover: int,
    ok: bool,
    disk: list[str],
    problems: list[str],
    total: float,
) -> None:
    def row(label: str, real: float, minimal: float, unit: Callable[[float], str]) -> str:
        ratio = "-"
        if unit is not busy and not math.isnan(real) and minimal and not math.isnan(minimal):
            ratio = f"{real / minimal:.1f}x"
        return f"  {label:<36}{unit(real):>12}{unit(minimal):>17}{ratio:>14}"

    def rate(value: float) -> str:
        return "-" if math.isnan(value) else f"{value:,.0f}/s"

    def busy(share: float) -> str:
        return "-" if math.isnan(share) else f"{share:.0%}"

    def latencies(phase: Phase, q: float) -> tuple[float, float]:
        return percentile(list(phase.answer.values()), q), percentile(list(phase.shown.values()), q)

    def queued(phase: Phase) -> str:
        return f"{len(phase.pressed)} presses queued in {ms(phase.last_press - phase.first_press)}"

    def texts(phase: Phase) -> str:
        return ", ".join(
            f"{n} x {repr(text) if text else 'no text'}" for text, n in phase.answer_texts.items()
        )

    print(f"OICC bot, vote benchmark: {MEMBERS} members, {MEMBERS} delegates, one open vote")
    print(
        "setup: fake Bot API server (flood limits off) and the delegates' presses in this"
        " process, the bot under test in a process of its own (asyncio in both, not one shared"
        f" event loop); SQLite in a temporary directory; CPUs {cpus}; Python"
        f" {sys.version.split()[0]}"
    )
    if importlib.util.find_spec("sniffio") is None:
        print(
            "note: sniffio is not installed, so httpcore tries to import it again on every"
            " HTTP request (a failed import searches sys.path); both bots pay for it"
        )
    if args.profile:
        print(f"NOTE: both bots ran under cProfile ({args.profile}*): their figures are slower")
    print(f"prepared the registry, {MEMBERS} delegates and attendance in {prepared:.1f} s")
    print(
        f"/motion 1: {MEMBERS} ballots delivered through the outbox in {delivered:.1f} s"
        f" ({MEMBERS / delivered:.0f}/s, the outbox's own pace)"
    )
    yes50, yes99 = latencies(yes, 50), latencies(yes, 99)
    print(
        f"Yes: {queued(yes)}; answered p50 {ms(yes50[0])}, p99 {ms(yes99[0])};"
        f" Confirm shown p50 {ms(yes50[1])}, p99 {ms(yes99[1])}"
    )
    print(f"Confirm: {queued(confirm)} (the minimal bot: the same presses, after a warm-up round)")
    print(
        f"  confirmed votes end to end: {len(confirm.shown)} in"
        f" {confirm.last_shown - confirm.first_press:.2f} s = {confirm.shown_per_second():.0f}"
        " votes/s (first press -> last ballot showing 'voted')"
    )
    edits = len(confirm.shown) / (confirm.last_shown - confirm.first_shown)
    print(
        f"  the 'voted' edits arrived at {edits:.0f}/s: PTB's AIORateLimiter lets the bot's"
        " requests that carry a chat_id through at 30/s; answerCallbackQuery has none"
    )
    print(f"  {'':<36}{'real bot':>12}{'minimal PTB bot':>17}{'real/minimal':>14}")
    print(
        row(
            "answers/s (first press->last)",
            confirm.answered_per_second(),
            baseline.answered_per_second(),
            rate,
        )
    )
    for label, q in (("p50", 50), ("p99", 99), ("max", 100)):
        print(
            row(f"press -> answer {label}", latencies(confirm, q)[0], latencies(baseline, q)[0], ms)
        )
    for label, q in (("p50", 50), ("p99", 99)):
        print(row(f"press -> 'voted' shown {label}", latencies(confirm, q)[1], math.nan, ms))
    print(
        row(
            "bot CPU, first press -> last answer",
            cpu_share(stats, confirm.first_press, confirm.last_answer),
            cpu_share(minimal_stats, baseline.first_press, baseline.last_answer),
            busy,
        )
    )
    print(row("server CPU, same interval", confirm.cpu, baseline.cpu, busy))
    print(f"  answers: real bot {texts(confirm)}; minimal bot {texts(baseline)}")
    if stats:
        window = stats.get("window") or math.nan
        taken = stats["snapshots"] + stats["transactions"]
        print(
            f"  real bot over the whole Confirm phase ({window:.1f} s, CPU"
            f" {stats['cpu'] / window:.0%}): {stats['statements']} SQL statements"
            f" ({stats['statements'] / MEMBERS:.1f} a vote) in {stats['snapshots']} read and"
            f" {stats['transactions']} write transactions ({taken / MEMBERS:.1f} a vote); the"
            f" store's single lock was held {stats['lock_held']:.2f} s"
            f" ({stats['lock_held'] / MEMBERS * 1000:.1f} ms a vote) and waited for"
            f" {stats['lock_waited'] / max(taken, 1) * 1000:.0f} ms on average; the most"
            " frequent statements:"
        )
        for sql, n in stats.get("top", [])[:5]:
            print(f"    {n:>5} x {sql}")
    if turnout is not None:
        print(f"  the chair's turnout message: {visible(turnout.text.splitlines()[1])!r}")
    if leftover:
        print(f"  note: {leftover} update(s) were still pending when the minimal bot started")
    print(f"check on disk: {'OK' if ok else 'FAILED'}")
    for line in disk:
        print(f"  {line}")
    if problems:
        print(f"bot logs: {len(problems)} warning or error line(s), the first:")
        for line in problems[:5]:
            print(f"  {line}")
    else:
        print("bot logs: no warning or error; both bots stopped cleanly")
    print(f"total {total:.1f} s")
    if args.profile:
        print_profile(args.profile)
        print_profile(args.profile + ".minimal")


def print_profile(path: str) -> None:
    try:
        stats = pstats.Stats(path, stream=(out := io.StringIO()))
    except OSError:
        print(f"no profile at {path}")
        return
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(r"(bot|handlers)/", 25)
    print(out.getvalue())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.votes", description=__doc__)
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="run both bots under cProfile during the measured presses, write the stats to"
        " FILE and FILE.minimal and print the top functions (slows the bots down)",
    )
    # Internal: the bot under test, started by the benchmark itself.
    parser.add_argument("--child", choices=["real", "minimal"], help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--stats", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace, cpus: str) -> int:
    try:
        async with asyncio.timeout(RUN_LIMIT):
            return await bench(args, cpus)
    except TimeoutError as exc:
        print(f"benchmark aborted: {exc or f'over the {RUN_LIMIT:.0f}s limit'}", file=sys.stderr)
        return 2
    except (AssertionError, RuntimeError) as exc:  # an expectation about the bot failed
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return asyncio.run(run_child(args))
    if args.profile:
        args.profile = str(Path(args.profile).resolve())
    return asyncio.run(main_async(args, two_cores()))


if __name__ == "__main__":
    sys.exit(main())
