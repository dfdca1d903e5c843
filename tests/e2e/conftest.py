"""End-to-end fixtures: the real Application, long polling against the fake Bot API server.

``bot`` is a running Harness: the demo registry and ledger are loaded in a temporary
SQLite file, user 900 is in SECRETARIAT_IDS, and ``await bot.join(user, "CAIRO")`` walks a
delegate through a real invitation link.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot import clock, demo
from bot.app import build_application, services
from bot.botapi.server import BotAPIServer, FakeUser
from bot.config import Settings
from bot.store import Database, people
from tests.consistency import check_closed_votes

TOKEN = "123456:TEST-SECRET-TOKEN"
SECRETARIAT_ID = 900
# The demo ledger is relative to the current year where the organization keeps its books
# (the bot's clock in its time zone, not UTC: they differ from 21:00 UTC on 31 December).
YEAR = clock.year_in(Settings().timezone)


class Harness:
    def __init__(self, server: BotAPIServer, settings: Settings) -> None:
        self.server = server
        self.settings = settings
        self.application: Any = None

    @property
    def db(self) -> Database:
        return services(self.application).db

    async def start(self) -> Harness:
        self.application = build_application(self.settings)
        await self.application.initialize()
        await self.application.post_init(self.application)
        await self.application.start()
        await self.application.updater.start_polling(poll_interval=0.0, timeout=1)
        return self

    async def stop(self) -> None:
        if self.application is None:
            return
        app, self.application = self.application, None
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.post_shutdown(app)
        await app.shutdown()

    @contextlib.asynccontextmanager
    async def db_while_stopped(self) -> AsyncIterator[Database]:
        """The bot's database opened on its own, as the CLI does, while the bot is down."""
        assert self.application is None, "stop the bot first"
        db = await Database(self.settings.database_path).open()
        try:
            yield db
        finally:
            await db.close()

    async def restart(self, **changes: Any) -> Harness:
        await self.stop()
        if changes:
            self.settings = dataclasses.replace(self.settings, **changes)
        return await self.start()

    async def join(self, user: FakeUser, member: str, role: str = "delegate") -> None:
        """The user opens a fresh invitation link for ``member`` and is registered."""
        code_member = None if member == "secretariat" else member
        issued = await people.issue_invitation(
            self.db, self.server.bot_username, code_member, role, actor="test"
        )
        await user.send(f"/start {issued.code}")
        await user.expect("Welcome" if (user.language_code or "en").startswith("en") else None)


def make_settings(tmp_path: Any, server: BotAPIServer, **changes: Any) -> Settings:
    base = Settings(
        bot_token=TOKEN,
        telegram_api_url=server.base_url,
        database_path=str(tmp_path / "bot.sqlite3"),
        secretariat_ids=frozenset({SECRETARIAT_ID}),
        bot_username=server.bot_username,
        postponement_minutes=0.02,
        user_commands_per_minute=0,
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
async def server():
    """The test Bot API server. A test fails if the bot made a call Telegram rejects,
    except those the test provokes: faults it injects, and rejections it declares with
    ``server.expect_rejections(...)``."""
    async with BotAPIServer(TOKEN, bot_username="oicc_test_bot") as running:
        yield running
    rejected = running.unexpected_rejections()
    assert not rejected, "calls Telegram rejects:\n" + "\n".join(
        f"  {c.method} -> {c.status} {c.description} {c.params}" for c in rejected[:10]
    )


async def load_demo(path: str) -> None:
    db = await Database(path).open()
    try:
        await demo.load(db, YEAR, meeting=False)
    finally:
        await db.close()


@pytest.fixture
async def bot(server, tmp_path):
    settings = make_settings(tmp_path, server)
    await load_demo(settings.database_path)
    harness = await Harness(server, settings).start()
    yield harness
    await harness.stop()
    # Every vote the test closed: tally, ballots, receipts and voters agree.
    check_closed_votes(harness.settings.database_path)


@pytest.fixture
def secretariat(server):
    return server.user(SECRETARIAT_ID, "Sara", language_code="en", username="sara")


async def until(server: BotAPIServer, condition: Any, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Wait until ``condition()`` holds, checking whenever the server sees a request."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, f"still not true after {timeout}s"
        await server._changed.wait(min(remaining, 0.5))


async def start_bot(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """``python -m bot run`` as a separate process (for kill -9 tests), stderr to ``log``."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log.open("ab"),
    )
