"""Random updates through the real Application: commands from the bot's own list with
random arguments, garbage text, forged and stale callback data, Arabic, bidi marks, emoji,
control characters, texts up to 4096 characters, from a stranger, a delegate, a member in
arrears, the chair and the secretariat.

Whatever arrives: nothing is left unhandled (no error logged, every message gets a reply
and every button press an answer), and what the sender may not do changes nothing.

One server and one Application serve the whole property; each example is one update.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from telegram.ext import CommandHandler

from bot import clock
from bot.botapi.server import BotAPIServer, FakeUser
from bot.store import meetings as store
from tests.e2e.conftest import (
    SECRETARIAT_ID,
    TOKEN,
    YEAR,
    Harness,
    load_demo,
    make_settings,
    until,
)
from tests.e2e.test_meetings import AGENDA, SIX, in_session

CHAIR_ONLY = {"call_quorum", "motion", "election", "close", "announce", "adjourn"}
SECRETARIAT_ONLY = {"invite", "revoke", "notice", "arrears", "paid"}
# What the state is made of; users is left out (the bot remembers whoever writes, and
# their language), so are delivery states (the outbox works in the background).
TABLES = {
    "members": "code",
    "dues": "member, year, fund",
    "users_bound": None,
    "invitations": "id",
    "meetings": "id",
    "agenda_items": "meeting, item",
    "attendance": "meeting, member",
    "questions": "id",
    "roll": "question, member",
    "participation": "question, member",
    "votes": "question, member",
    "ballots": "question, receipt",
    "elections": "id",
    "candidates": "election, code",
    "session_requests": "id",
    "request_signatures": "request, member",
    "request_approvals": "request, member",
    "drafts": "telegram_id, kind",
    "notices_made": None,
    "audit_made": None,
}
QUERIES = {
    "users_bound": "SELECT telegram_id, member, role FROM users WHERE role IS NOT NULL"
    " ORDER BY telegram_id",
    "notices_made": "SELECT id, kind, audience, ref, created_by FROM notices ORDER BY id",
    "audit_made": "SELECT id, actor, member, action, details FROM audit_log"
    " WHERE actor IS NOT 'bot' ORDER BY id",
}

FRAGMENTS = [
    "مرحبا بكم",
    "القاهرة",
    "\u200f",
    "\u200e",
    "\u202e",
    "\u2066",
    "\u2068",
    "\u2069",
    "\u061c",
    "🗳",
    "👨‍👩‍👧",
    "🇸🇦",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\t",
    "\n",
    "\r\n",
    "<b>",
    "</i>",
    "<a href='x'>",
    "&amp;",
    "&",
    "<",
    ">",
    '"',
    "`",
    "*bold*",
    "_x_",
    "[x](tg://user?id=1)",
    "%s",
    "{}",
    "{member}",
    "\\",
    "NaN",
    "-1",
    "0",
    "1e309",
    "99999999999999999999999",
    "CAIRO",
    "amman",
    "ROME",
    "secretariat",
    "chair",
    "secret",
    "organization",
    "cooperation_fund",
    str(YEAR - 1),
    "5000",
    "-5",
    "1",
    "2",
    "X1",
]

piece = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=24),
)
words = st.lists(piece, min_size=0, max_size=6).map(" ".join)
long_text = st.builds(
    lambda unit, n: (unit * n)[:4096],
    st.sampled_from(["ب", "x ", "🗳", "<&>", "\u200f", "مدينة "]),
    st.integers(500, 4096),
)
text = st.one_of(words, words, long_text).filter(lambda s: s.strip() != "")
ids = st.one_of(st.integers(-3, 12), st.integers(0, 10**15))
shaped_data = st.one_of(
    st.builds("v:{}:{}".format, ids, st.sampled_from("ynaxz")),
    st.builds("vc:{}:{}".format, ids, st.sampled_from("ynaxz")),
    st.builds("cv:{}:{}".format, ids, st.sampled_from(["y", "n", "d", "0", "7"])),
    st.builds(
        "{}:{}:{}".format,
        st.sampled_from(["et", "es", "ec"]),
        ids,
        st.sampled_from(["0", "1", "ff", "ffffffffffffffff", "g"]),
    ),
    st.builds("m:{}:{}".format, st.sampled_from(["checkin", "quorum", "motion", "x_y"]), ids),
    st.builds(
        "n:{}:{}".format,
        st.text("abcdef0123456789-_", min_size=1, max_size=12),
        st.sampled_from(["send", "cancel", "all", "gc", "one", "per", "region_arab"]),
    ),
    st.builds("lang:{}".format, st.sampled_from(["ar", "en", "fr", "xx", "EN", ""])),
)
forged_data = st.text(max_size=64).filter(lambda s: len(s.encode()) <= 64)


class World:
    """The server, the bot and a General Conference in session with a vote open."""

    def __init__(self, tmp_path: Any) -> None:
        self.tmp_path = tmp_path
        self.server = BotAPIServer(TOKEN, bot_username="oicc_test_bot")
        self.errors: list[logging.LogRecord] = []
        self.watch = _Errors(self.errors)
        self.harness: Harness | None = None
        self.senders: dict[str, FakeUser] = {}
        self.present: list[FakeUser] = []  # the chair first, then delegates
        self.commands: list[str] = []

    @property
    def bot(self) -> Harness:
        assert self.harness is not None
        return self.harness

    async def start(self) -> World:
        await self.server.start()
        settings = make_settings(self.tmp_path, self.server)
        await load_demo(settings.database_path)
        self.harness = await Harness(self.server, settings).start()
        logging.getLogger().addHandler(self.watch)
        application = self.bot.application
        registered = {
            command
            for group in application.handlers.values()
            for handler in group
            if isinstance(handler, CommandHandler)
            for command in handler.commands
        }
        # The first is what generation starts from and falls back to: a harmless one.
        self.commands = ["help", *sorted(registered - {"help"})]
        server = self.server
        chair = server.user(3003, "Chair", language_code="en")
        await self.bot.join(chair, "CAIRO", role="chair")
        others = {}
        for n, code in enumerate(SIX):
            user = server.user(3100 + n, code.title(), language_code=["ar", "en", "fr"][n % 3])
            await self.bot.join(user, code)
            others[code] = user
        arrears = server.user(3004, "Tunis", language_code="fr")
        await self.bot.join(arrears, "TUNIS")
        self.present = [chair, *others.values()]
        await self.meeting_in_session()
        self.senders = {
            "stranger": server.user(3001, "Stranger", language_code="ar"),
            "delegate": others["AMMAN"],
            "arrears": arrears,
            "chair": chair,
            "secretariat": server.user(SECRETARIAT_ID, "Sara", language_code="en"),
        }
        return self

    async def meeting_in_session(self) -> None:
        """A new General Conference session, quorate, with a vote open on item 1."""
        chair = self.present[0]
        await store.create_meeting(
            self.bot.db,
            "gc",
            "ordinary",
            "Session",
            clock.now() - timedelta(minutes=1),
            "Asia/Riyadh",
            "CAIRO",
            AGENDA,
            actor="test",
        )
        for user in self.present:
            user.skip()
            await user.send("/checkin")
            await user.expect("✅")
        await chair.send("/call_quorum")
        await chair.expect("✅")  # quorate, in whichever language the fuzzing left the chair
        await chair.send("/motion 1")
        await self.server.wait_idle()
        for user in self.present:
            user.skip()

    async def stop(self) -> None:
        logging.getLogger().removeHandler(self.watch)
        if self.harness is not None:
            await self.harness.stop()
        await self.server.stop()

    async def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        found = {}
        for table, order in TABLES.items():
            sql = QUERIES.get(table) or f"SELECT * FROM {table} ORDER BY {order}"
            found[table] = [tuple(row) for row in await self.bot.db.all(sql)]
        return found

    async def open_question(self) -> int:
        row = await self.bot.db.one("SELECT max(id) FROM questions")
        return int(row[0]) if row and row[0] is not None else 1

    async def one_update(self, data: Any) -> None:
        who = data.draw(st.sampled_from(sorted(self.senders)), label="sender")
        sender = self.senders[who]
        kind = data.draw(st.sampled_from(["command", "command", "text", "button"]), label="kind")
        await self.server.wait_idle(quiet=0.05)
        sender.skip()
        before = await self.snapshot()
        may_change = who in ("chair", "secretariat")
        if kind == "button":
            question = await self.open_question()
            callback = data.draw(
                st.one_of(
                    shaped_data,
                    forged_data,
                    st.none(),
                    st.sampled_from([f"v:{question}:y", f"vc:{question}:n", f"cv:{question}:y"]),
                ),
                label="callback_data",
            )
            on = sender.last_message if data.draw(st.booleans(), label="on a message") else None
            may_change = may_change or who in ("delegate", "arrears")
            press = await sender.press_data(on, callback)
            await press.answer(timeout=10)
        else:
            if kind == "command":
                command = data.draw(st.sampled_from(self.commands), label="command")
                suffix = data.draw(st.sampled_from(["", "", "@oicc_test_bot", "@other_bot"]))
                args = data.draw(st.one_of(st.just(""), words, long_text), label="arguments")
                typed = f"/{command}{suffix} {args}".rstrip()[:4096]
                delegate_command = command not in CHAIR_ONLY | SECRETARIAT_ONLY
                addressed = suffix != "@other_bot"
                if who in ("delegate", "arrears") and delegate_command and addressed:
                    may_change = True
            else:
                typed = data.draw(text, label="text")
            note(f"{who} sends {typed[:300]!r} ({len(typed)} characters)")
            await sender.send(typed)
            await sender.expect(timeout=10)  # every message gets a reply
        await self.server.wait_idle(quiet=0.05)
        assert not self.errors, [r.getMessage() for r in self.errors]
        if not may_change:
            after = await self.snapshot()
            changed = [t for t in TABLES if before[t] != after[t]]
            assert not changed, f"{who} changed {changed}"
        await self.reopen_if_adjourned()

    async def reopen_if_adjourned(self) -> None:
        """The chair may adjourn at random: a new session keeps the later examples useful."""
        row = await self.bot.db.one("SELECT count(*) FROM meetings WHERE closed_at IS NULL")
        if row and row[0] == 0:
            await self.meeting_in_session()


class _Errors(logging.Handler):
    """Anything logged at ERROR or above, by the bot's error handler or by the library."""

    def __init__(self, found: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.found = found

    def emit(self, record: logging.LogRecord) -> None:
        self.found.append(record)


def test_random_updates_are_handled_and_unauthorized_ones_change_nothing(tmp_path):
    loop = asyncio.new_event_loop()
    world = World(tmp_path)
    try:
        loop.run_until_complete(world.start())

        @settings(
            max_examples=60,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: the world has moved on
            suppress_health_check=list(HealthCheck),
        )
        @given(st.data())
        def one_update(data: Any) -> None:
            loop.run_until_complete(world.one_update(data))

        one_update()
    finally:
        loop.run_until_complete(world.stop())
        loop.close()


async def test_buttons_on_a_ballot_too_old_to_edit(bot, server):
    """Found by the property above: Telegram sends a press on an old message without the
    message, and refuses to edit it; the ballot then comes again as a new message."""
    server.expect_rejections(400, "message can't be edited")
    errors: list[logging.LogRecord] = []
    watch = _Errors(errors)
    logging.getLogger().addHandler(watch)
    try:
        await store.create_meeting(
            bot.db,
            "gc",
            "ordinary",
            "Session",
            clock.now() - timedelta(minutes=1),
            "Asia/Riyadh",
            "CAIRO",
            AGENDA,
            actor="test",
        )
        chair, users = await in_session(bot, server, SIX)
        await chair.send("/motion 1")
        amman = users["AMMAN"]
        # the ballot reaches Amman through the outbox: wait for it, then press its old copy
        await until(server, lambda: any("Item" in m.text for m in amman.inbox))
        question = (await bot.db.one("SELECT max(id) FROM questions"))[0]
        amman.skip()
        await amman.press_data(None, f"v:{question}:y")  # choose, on the old ballot
        await amman.last_answer()
        confirm = await amman.expect("Confirm?")
        assert confirm.button_texts == ["Confirm", "Cancel"]
        await amman.press_data(None, f"vc:{question}:x")  # cancel, on the old ballot
        await amman.last_answer()
        assert (await amman.expect("Item")).button_texts == ["Yes", "No", "Abstain"]
        await amman.press_data(None, f"vc:{question}:y")
        assert "recorded" in (await amman.last_answer()).text
        await amman.expect("voted: Yes")
        await server.wait_idle()
    finally:
        logging.getLogger().removeHandler(watch)
    assert not errors, [r.getMessage() for r in errors]
