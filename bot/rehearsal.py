"""Rehearsal: the real bot, on a throw-away database, against the local Bot API server.

Nothing leaves this machine: the bot talks only to ``bot.botapi`` on 127.0.0.1, whatever
``BOT_TOKEN`` or ``TELEGRAM_API_URL`` say, and the phones are users of that server, driven by
the web page (``bot.web``). The database is a fresh demo conference, or a copy of one given
with ``--database``; the live ``DATABASE_PATH`` file is never opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import clock, demo, elections
from bot.botapi.server import BotAPIServer, FakeUser, SentMessage
from bot.config import Settings
from bot.i18n import LANGUAGES
from bot.store import Database, people, registry
from bot.store import elections as store_elections
from bot.store import meetings as store_meetings

log = logging.getLogger(__name__)

BOT_USERNAME = "oicc_rehearsal_bot"
SECRETARIAT_ID = 1001
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


class RehearsalError(ValueError):
    """A rehearsal cannot start as asked; the message says why."""


@dataclass(frozen=True)
class Phone:
    """One person's phone on the page: a user of the local Bot API server."""

    user_id: int
    name: str
    member: str | None  # None for the secretariat
    role: str  # "chair", "secretariat" or "delegate"
    language: str

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# The chair of the demo session (its host, Rabat), a secretariat officer, and delegates of
# five member cities: six members with a voting right, one short of the quorum of seven, so
# that adding a delegate is part of the rehearsal.
DEFAULT_PHONES = (
    Phone(1002, "Youssef", "RABAT", "chair", "en"),
    Phone(SECRETARIAT_ID, "Sara", None, "secretariat", "en"),
    Phone(1003, "Ahmed", "CAIRO", "delegate", "ar"),
    Phone(1004, "Aminata", "DAKAR", "delegate", "fr"),
    Phone(1005, "Layla", "AMMAN", "delegate", "ar"),
    Phone(1006, "Imran", "ISLAMABAD", "delegate", "en"),
    Phone(1007, "Aisha", "KUALALUMPUR", "delegate", "en"),
)
NEW_NAMES = ("Omar", "Fatou", "Karim", "Nadia", "Bilal", "Mariam", "Hassan", "Zainab", "Idris")
DEMO_ELECTION = ("Election of council members", 2, "RABAT,ABUJA,ISTANBUL")


def refuse_live_database(source: Path, live: str) -> None:
    """The rehearsal copies a database; it never opens the one the bot runs on."""
    if not source.is_file():
        raise RehearsalError(f"{source} is not a file")
    live_path = Path(live)
    if live_path.exists() and live_path.resolve() == source.resolve():
        raise RehearsalError(
            f"{source} is the live database (DATABASE_PATH): rehearse on a backup copy instead"
        )
    with contextlib.suppress(OSError):
        if live_path.exists() and os.path.samefile(live_path, source):
            raise RehearsalError(f"{source} is the live database (DATABASE_PATH)")


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API, reading the source read-only."""
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        writer = sqlite3.connect(target)
        try:
            reader.backup(writer)
        finally:
            writer.close()
    except sqlite3.DatabaseError as exc:
        raise RehearsalError(f"cannot copy {source}: {exc}") from None
    finally:
        reader.close()


def local_settings(base: Settings, database: Path, server: BotAPIServer) -> Settings:
    """The operator's settings with every way out replaced by the local server."""
    return dataclasses.replace(
        base,
        bot_token=server.token,
        telegram_api_url=server.base_url,
        database_path=str(database),
        secretariat_ids=frozenset({SECRETARIAT_ID}),
        bot_username=BOT_USERNAME,
        webhook_url="",
        webhook_secret="",
        user_commands_per_minute=0,
    )


async def prepare_demo(path: Path, settings: Settings) -> None:
    """The demo conference with its session open, and a council election in it."""
    db = await Database(str(path)).open()
    try:
        year = clock.year_in(settings.timezone)
        await demo.load(db, year)
        meeting = (await store_meetings.open_meetings(db))[0]
        title, seats, codes = DEMO_ELECTION
        entries = elections.parse_candidates(codes, False)
        members = {m.code: m for m in await registry.members(db)}
        ledger = {
            code: [r.line for r in rows] for code, rows in (await registry.all_dues(db)).items()
        }
        elections.check_council_candidates(entries, members, ledger, year)
        await store_elections.create_election(
            db, meeting.id, "council", title, seats, entries, actor="demo"
        )
    finally:
        await db.close()


class Rehearsal:
    """The local server, the bot and its database, and the phones; ``reset`` starts over."""

    def __init__(self, base: Settings, *, source: Path | None = None) -> None:
        self.base = base
        self.source = source
        self.server: BotAPIServer | None = None
        self.application: Any = None
        self.phones: list[Phone] = []
        self.generation = 0  # bumped at each start, so observers know to start over
        self.ready = False  # the bot answers and every phone has joined
        self._workdir = Path(tempfile.mkdtemp(prefix="oicc-rehearsal-"))
        self._lock = asyncio.Lock()
        for name in _PROXY_VARIABLES:  # the bot's HTTP client must not route 127.0.0.1 away
            os.environ.pop(name, None)
        os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

    @property
    def settings(self) -> Settings:
        return self.application.bot_data["services"].settings  # type: ignore[no-any-return]

    def user(self, phone: Phone) -> FakeUser:
        assert self.server is not None
        return self.server.user(phone.user_id)

    def phone(self, user_id: int) -> Phone:
        for phone in self.phones:
            if phone.user_id == user_id:
                return phone
        raise RehearsalError(f"no phone {user_id}")

    async def start(self) -> None:
        async with self._lock:
            await self._start()

    async def stop(self) -> None:
        async with self._lock:
            await self._stop()

    async def reset(self) -> None:
        """Start over: a new database, a new server, the default phones."""
        async with self._lock:
            await self._stop()
            await self._start()

    async def close(self) -> None:
        await self.stop()
        shutil.rmtree(self._workdir, ignore_errors=True)

    async def _start(self) -> None:
        from bot.app import build_application

        self.ready = False
        self.generation += 1
        database = self._workdir / f"rehearsal-{self.generation}.sqlite3"
        server = BotAPIServer(
            f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_hex(16)}",
            bot_name="OICC",
            bot_username=BOT_USERNAME,
        )
        await server.start()
        self.server = server
        # The accounts exist before the bot starts; the secretariat officer has talked to the
        # bot before, so the bot can set that chat's longer menu when it starts.
        for phone in DEFAULT_PHONES:
            server.user(
                phone.user_id,
                phone.name,
                language_code=phone.language,
                started=phone.role == "secretariat",
            )
        settings = local_settings(self.base, database, server)
        if self.source is not None:
            copy_database(self.source, database)
        else:
            await prepare_demo(database, settings)
        application: Any = build_application(settings)
        await application.initialize()
        await application.post_init(application)
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=10)
        self.application = application
        self.phones = []
        for phone in DEFAULT_PHONES:
            if self.source is not None and phone.member is not None:
                if await registry.get_member(self._db, phone.member) is None:
                    continue
            await self._join(phone)
        await self.refresh_members()
        self.ready = True

    async def _stop(self) -> None:
        self.ready = False
        application, self.application = self.application, None
        if application is not None:
            if application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            await application.post_shutdown(application)
            await application.shutdown()
        server, self.server = self.server, None
        if server is not None:
            await server.stop()
        for path in self._workdir.glob("rehearsal-*"):
            path.unlink(missing_ok=True)

    @property
    def _db(self) -> Database:
        return self.application.bot_data["services"].db  # type: ignore[no-any-return]

    async def _join(self, phone: Phone) -> None:
        """The phone opens an invitation issued as ``oicc-bot invite`` would, and is
        welcomed; the secretariat is in SECRETARIAT_IDS and only says hello."""
        assert self.server is not None
        user = self.server.user(phone.user_id, phone.name, language_code=phone.language)
        self.phones.append(phone)
        if phone.role == "secretariat":
            await self._say(user, "/start")
            return
        issued = await people.issue_invitation(
            self._db, BOT_USERNAME, phone.member, phone.role, actor="rehearsal"
        )
        # The welcome comes in the language of the phone (Telegram's language_code).
        await self._say(user, f"/start {issued.code}")

    async def _say(self, user: FakeUser, text: str, timeout: float = 15.0) -> SentMessage:  # noqa: ASYNC109
        """The user sends ``text`` and waits for the bot's first answer."""
        before = len(user.inbox)
        await user.send(text)
        return await self._next_from_bot(user, before, timeout)

    async def _next_from_bot(self, user: FakeUser, before: int, timeout: float) -> SentMessage:  # noqa: ASYNC109
        assert self.server is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(user.inbox) <= before:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise RehearsalError("the bot did not answer")
            await self.server.wait_change(remaining)
        return user.inbox[before]

    # What the page does ------------------------------------------------------------------

    async def send(self, user_id: int, text: str) -> None:
        self.phone(user_id)
        text = text.strip()
        if not text:
            raise RehearsalError("nothing to send")
        if len(text) > 4096:
            raise RehearsalError("a message is at most 4096 characters")
        assert self.server is not None
        await self.server.user(user_id).send(text)

    async def press(self, user_id: int, message_id: int, data: str) -> None:
        self.phone(user_id)
        assert self.server is not None
        message = self.server.message(user_id, message_id)
        if message is None or message.deleted or not message.from_bot:
            raise RehearsalError("this message is gone")
        if data not in {b.data for row in message.buttons for b in row if b.data is not None}:
            raise RehearsalError("this message has no such button")
        await self.server.user(user_id).press_data(message, data)

    async def set_language(self, user_id: int, language: str) -> None:
        """The person switches the phone's language and tells the bot with /language."""
        if language not in LANGUAGES:
            raise RehearsalError(f"language must be one of {', '.join(LANGUAGES)}")
        phone = self.phone(user_id)
        assert self.server is not None
        self.server.user(user_id, language_code=language)
        self.phones[self.phones.index(phone)] = dataclasses.replace(phone, language=language)
        await self.server.user(user_id).send(f"/language {language}")

    async def add_delegate(self, member: str, language: str) -> Phone:
        """A new phone for a delegate of ``member``: the secretariat asks the bot for an
        invitation with /invite, and the new phone opens the link it got."""
        if language not in LANGUAGES:
            raise RehearsalError(f"language must be one of {', '.join(LANGUAGES)}")
        async with self._lock:
            assert self.server is not None
            code = member.strip().upper()
            found = await registry.get_member(self._db, code)
            if found is None or found.kind == "office":
                raise RehearsalError(f"unknown member {member}")
            secretariat = self.server.user(SECRETARIAT_ID)
            answer = await self._say(secretariat, f"/invite {code}")
            match = re.search(r"start=([A-Za-z0-9_-]+)", answer.html)
            if match is None:
                raise RehearsalError("the bot gave no invitation")
            used = {p.user_id for p in self.phones}
            user_id = max(used) + 1
            name = NEW_NAMES[(user_id - 1008) % len(NEW_NAMES)]
            phone = Phone(user_id, name, code, "delegate", language)
            user = self.server.user(user_id, name, language_code=language)
            self.phones.append(phone)
            await self._say(user, f"/start {match.group(1)}")
            return phone

    def members(self) -> list[str]:
        """Member codes a delegate can be added for (the demo's, or the copied registry's)."""
        return list(self._member_codes)

    _member_codes: tuple[str, ...] = ()

    async def refresh_members(self) -> None:
        self._member_codes = tuple(
            m.code for m in await registry.members(self._db) if m.kind != "office" and m.active
        )
