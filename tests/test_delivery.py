"""Notices and their delivery: audiences, texts, counts, the Sender's states, the CLI."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from types import SimpleNamespace

import httpx
import pytest
from telegram.error import BadRequest, Forbidden, RetryAfter, TimedOut

from bot import demo, notices, outbox
from bot.__main__ import main
from bot.delivery import Pace, Sender, status
from bot.outbox import Outgoing
from bot.store import Database

YEAR = 2026
# PTB warns when it builds its own RetryAfter (its retry_after is changing type).
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def register(db: Database, telegram_id: int, member: str | None, role: str, **extra) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO users (telegram_id, member, role, language, telegram_language,"
            " first_name) VALUES (?, ?, ?, ?, ?, ?)",
            (
                telegram_id,
                member,
                role,
                extra.get("language"),
                extra.get("telegram_language"),
                extra.get("first_name", f"Person{telegram_id}"),
            ),
        )


# One delegate per member of interest; ids say which.
DELEGATES = {
    1: "CAIRO",  # arab capital, elected to the council
    2: "MAKKAH",  # permanent council member
    3: "SG",  # the Secretary General's office: council only
    4: "TUNIS",  # in arrears (organization, last year)
    5: "BAMAKO",  # in arrears, african
    6: "DHAKA",  # in arrears, asian
    7: "DAKAR",  # african, elected
    8: "LAHORE",  # inactive asian city
    9: "ISTANBUL",  # asian city
}


@pytest.fixture
async def demo_db(db):
    await demo.load(db, YEAR, meeting=False)
    for telegram_id, member in DELEGATES.items():
        await register(db, telegram_id, member, "delegate")
    await register(db, 10, "KANO", "chair", telegram_language="fr")  # a chair is a delegate too
    await register(db, 11, None, "secretariat")  # not a recipient
    async with db.transaction() as tx:  # has written to the bot, never registered
        await tx.execute("INSERT INTO users (telegram_id, telegram_language) VALUES (12, 'ar')")
    return db


async def members_of(db, audience):
    found = await notices.recipients(db, audience, YEAR, 3)
    return sorted(r.member for r in found)


async def test_audiences_on_the_demo_registry(demo_db):
    everyone = sorted([*DELEGATES.values(), "KANO"])
    assert await members_of(demo_db, "all") == everyone
    assert await members_of(demo_db, "gc") == sorted(set(everyone) - {"SG", "LAHORE"})
    assert await members_of(demo_db, "council") == ["CAIRO", "DAKAR", "MAKKAH", "SG"]
    assert await members_of(demo_db, "arrears") == ["BAMAKO", "DHAKA", "TUNIS"]
    assert await members_of(demo_db, "region:african") == ["BAMAKO", "DAKAR", "KANO"]
    assert await members_of(demo_db, "region:asian") == ["DHAKA", "ISTANBUL", "LAHORE"]
    assert await members_of(demo_db, "region:arab") == ["CAIRO", "MAKKAH", "SG", "TUNIS"]
    with pytest.raises(ValueError):
        await notices.recipients(demo_db, "region:europe", YEAR, 3)


async def test_arrears_follows_the_good_standing_window(demo_db):
    # DHAKA owes for three years back: outside a two-year window.
    found = await notices.recipients(demo_db, "arrears", YEAR, 2)
    assert sorted(r.member for r in found) == ["BAMAKO", "TUNIS"]


async def test_recipient_language_chosen_then_telegram_then_english(demo_db):
    await register(demo_db, 20, "AMMAN", "delegate", language="fr", telegram_language="ar")
    await register(demo_db, 21, "AMMAN", "delegate", telegram_language="ar-SA")
    found = {r.telegram_id: r.language for r in await notices.recipients(demo_db, "all", YEAR, 3)}
    assert (found[20], found[21], found[10], found[1]) == ("fr", "ar", "fr", "en")


def test_render_escapes_and_uses_each_language():
    texts = {"all": "Budget <b>2026</b> & more", "fr": "Budget en français"}
    english = notices.render(texts, "en")
    assert english.startswith("<b>Notice from the General Secretariat</b>\n\n")
    assert english.endswith("Budget &lt;b&gt;2026&lt;/b&gt; &amp; more")
    assert notices.render(texts, "fr").endswith("Budget en français")
    arabic = notices.render(texts, "ar")
    assert "Notice from" not in arabic and arabic.endswith("&amp; more")


def test_drafts_step_by_step():
    draft = notices.Draft("abc").with_audience("gc")
    assert draft.step == "mode"
    one = draft.with_mode(False)
    assert one.waiting_for_text and one.with_text("  Hello ").texts == {"all": "Hello"}
    each = draft.with_mode(True)
    for language in ("ar", "en", "fr"):
        assert each.step == language
        each = each.with_text(f"text {language}")
    assert each.step == "confirm" and set(each.texts) == {"ar", "en", "fr"}
    assert each.confirmed().step == "sending"
    assert notices.Draft.decode(each.encode()) == each
    with pytest.raises(ValueError):
        each.with_text("again")
    with pytest.raises(ValueError):
        notices.Draft("abc").with_audience("everyone")


async def test_draft_changes_once(demo_db):
    draft = await notices.new_draft(demo_db, 11)
    after = draft.with_audience("all")
    assert await notices.advance(demo_db, 11, draft, after)
    assert not await notices.advance(demo_db, 11, draft, after)  # a second press
    ready = after.with_mode(False).with_text("Hello")
    assert await notices.advance(demo_db, 11, after, ready)
    sent = await notices.send_draft(
        demo_db, 11, ready, current_year=YEAR, good_standing_years=3, progress=(11, 5)
    )
    assert sent is not None and sent[1] == len(DELEGATES) + 1
    again = await notices.send_draft(demo_db, 11, ready, current_year=YEAR, good_standing_years=3)
    assert again is None and await notices.get_draft(demo_db, 11) is None


async def test_long_notice_is_split_at_paragraphs(demo_db):
    paragraph = "Ordre du jour & résolutions. " * 60
    text = "\n\n".join([paragraph] * 5)
    notice, count = await notices.create(
        demo_db, "council", {"all": text}, current_year=YEAR, good_standing_years=3, actor="t"
    )
    rows = await demo_db.all(
        "SELECT telegram_id, part, payload FROM outbox WHERE notice = ? ORDER BY telegram_id, part",
        (notice,),
    )
    parts = [json.loads(r[2])["text"] for r in rows if r[0] == 1]
    assert count == 4 and len(parts) == 3
    assert all(len(p) <= 4096 for p in parts)
    assert parts[0].startswith("<b>Notice from the General Secretariat</b>")
    assert "\n\n".join(parts) == notices.render({"all": text.strip()}, "en")
    assert (await status(demo_db, notice))["recipients"] == 4


async def test_no_recipients(demo_db):
    async with demo_db.transaction() as tx:
        await tx.execute("DELETE FROM users WHERE member IN ('TUNIS', 'BAMAKO', 'DHAKA')")
    with pytest.raises(notices.NoRecipients):
        await notices.create(
            demo_db, "arrears", {"all": "x"}, current_year=YEAR, good_standing_years=3, actor="t"
        )
    assert tuple(await demo_db.one("SELECT count(*) FROM notices")) == (0,)


# --- counts ----------------------------------------------------------------------------------


async def set_states(db, notice, states):
    async with db.transaction() as tx:
        for (telegram_id, part), state in states.items():
            await tx.execute(
                "UPDATE outbox SET state = ?, message_id = ? WHERE notice = ? AND telegram_id = ?"
                " AND part = ?",
                (state, 1 if state == "delivered" else None, notice, telegram_id, part),
            )


async def queue_simple(db, ids, parts=1, kind="notice", created_by=None):
    text = "\n\n".join(f"part {i} " + "x" * 3000 for i in range(parts))
    return await outbox.queue(
        db,
        kind,
        [Outgoing(i, "en", text, member="CAIRO") for i in ids],
        created_by=created_by,
        actor="t",
    )


async def test_status_counts_recipients_not_rows(db):
    notice = await queue_simple(db, [1, 2, 3, 4, 5, 6], parts=2)
    await set_states(
        db,
        notice,
        {
            (1, 0): "delivered",
            (1, 1): "delivered",
            (2, 0): "delivered",  # second part still pending
            (3, 0): "unreachable",
            (3, 1): "unreachable",
            (4, 0): "delivered",
            (4, 1): "failed",
            (5, 0): "lost",
            (5, 1): "delivered",
            (6, 0): "sending",
        },
    )
    assert await status(db, notice) == {
        "id": notice,
        "recipients": 6,
        "delivered": 1,
        "unreachable": 1,
        "failed": 1,
        "lost": 1,
        "pending": 2,
    }
    with pytest.raises(LookupError):
        await status(db, notice + 1)


# --- the Sender against a stand-in for Telegram -----------------------------------------------


class StubBot:
    """Answers like Telegram would, per chat: ``behaviour[chat]`` is a list of outcomes
    used in turn ("ok", or an exception), the last one repeating."""

    def __init__(self, behaviour=None):
        self.behaviour = behaviour or {}
        self.sent: list[tuple[int, str, float]] = []
        self.attempts: dict[int, int] = {}
        self.edits: list[tuple[int, int, str]] = []
        self.next_id = 100

    async def initialize(self):
        pass

    async def shutdown(self):
        pass

    async def send_message(self, chat_id, text, **kwargs):
        self.attempts[chat_id] = self.attempts.get(chat_id, 0) + 1
        plan = self.behaviour.get(chat_id, ["ok"])
        outcome = plan[min(self.attempts[chat_id], len(plan)) - 1]
        if outcome != "ok":
            raise outcome
        self.next_id += 1
        self.sent.append((chat_id, text, time.monotonic()))
        return SimpleNamespace(message_id=self.next_id)

    async def send_photo(self, chat_id, photo, caption, **kwargs):
        return await self.send_message(chat_id, caption)

    async def edit_message_text(self, text, chat_id, message_id, **kwargs):
        self.edits.append((chat_id, message_id, text))


def fast_sender(db, bot, **options):
    defaults = dict(per_second=1000, chat_burst=50, backoff=0.01, poll=0.05, progress_every=0.05)
    return Sender(db, bot, **{**defaults, **options})


async def until_finished(db, notice, within=10.0):
    deadline = time.monotonic() + within
    while True:
        row = await db.one("SELECT finished_at FROM notices WHERE id = ?", (notice,))
        if row[0] is not None:
            return await status(db, notice)
        assert time.monotonic() < deadline, await status(db, notice)
        await asyncio.sleep(0.02)


def timed_out() -> TimedOut:
    try:
        raise TimedOut() from httpx.ReadTimeout("read")
    except TimedOut as exc:
        return exc


async def test_sender_outcomes(demo_db):
    bot = StubBot(
        {
            2: [Forbidden("Forbidden: bot was blocked by the user")],
            3: [RetryAfter(1), "ok"],
            4: [BadRequest("Bad Request: chat not found")],
            5: [timed_out()],
        }
    )
    sender = fast_sender(demo_db, bot, max_attempts=3)
    await sender.start()
    try:
        started = time.monotonic()
        notice = await queue_simple(demo_db, [1, 2, 3, 4, 5], parts=2, created_by=11)
        assert await until_finished(demo_db, notice) == {
            "id": notice,
            "recipients": 5,
            "delivered": 2,
            "unreachable": 1,
            "failed": 1,
            "lost": 1,
            "pending": 0,
        }
        to = [chat for chat, _, _ in bot.sent]
        assert to.count(1) == 2 and to.count(3) == 2 and 2 not in to and 4 not in to
        first = [text for chat, text, _ in bot.sent if chat == 1]
        assert first[0].startswith("part 0") and first[1].startswith("part 1")  # in order
        # the 429 was waited out, without using up an attempt
        assert min(at for chat, _, at in bot.sent if chat == 3) - started >= 1.0
        assert bot.attempts[2] == 1  # 403: never retried, later part not tried
        assert bot.attempts[4] == 6  # bounded retries, for each of the two parts
        assert bot.attempts[5] == 2  # no answer: may have arrived, each part never sent again
        rows = await demo_db.all(
            "SELECT state, attempts FROM outbox WHERE notice = ? AND telegram_id = 3", (notice,)
        )
        assert [tuple(r) for r in rows] == [("delivered", 1), ("delivered", 1)]
        # the delivery report, queued to the creator and sent like everything else
        report = await demo_db.one(
            "SELECT id FROM notices WHERE kind = 'report' AND ref = ?", (f"notice:{notice}",)
        )
        await until_finished(demo_db, report[0])
        text = [t for chat, t, _ in bot.sent if chat == 11][0]
        assert "Delivery report for notice" in text
        assert "Unreachable" in text and "Failed" in text and "Lost" in text
        assert "Cairo" in text and "Person2" in text
    finally:
        await sender.stop()


async def test_progress_is_edited_then_final(demo_db):
    bot = StubBot()
    sender = fast_sender(demo_db, bot, per_second=100)
    await sender.start()
    try:
        notice = await outbox.queue(
            demo_db,
            "notice",
            [Outgoing(i, "en", "hello", member="CAIRO") for i in range(1, 60)],
            created_by=11,
            actor="t",
            progress=(11, 7),
        )
        await until_finished(demo_db, notice)
        await asyncio.sleep(0.1)
    finally:
        await sender.stop()
    texts = [text for chat, message, text in bot.edits if (chat, message) == (11, 7)]
    assert len(texts) >= 2 and len(set(texts)) == len(texts)  # never the same text twice
    assert "Delivered: \u206859\u2069 of \u206859\u2069" in texts[-1]
    assert "Sending finished" in texts[-1]


async def test_rows_in_flight_at_a_crash_are_lost_never_resent(demo_db):
    notice = await queue_simple(demo_db, [1, 2, 3])
    first = await demo_db.one("SELECT id FROM outbox WHERE notice = ? ORDER BY id", (notice,))
    claimed = await outbox.claim(demo_db, first[0])  # the process dies with this in flight
    assert claimed is not None and claimed.telegram_id == 1
    bot = StubBot()
    sender = fast_sender(demo_db, bot)
    await sender.start()
    try:
        assert sender.recovered == 1
        counts = await until_finished(demo_db, notice)
    finally:
        await sender.stop()
    assert counts["lost"] == 1 and counts["delivered"] == 2
    assert sorted(chat for chat, _, _ in bot.sent) == [2, 3]


async def test_stop_lets_the_message_in_flight_finish(demo_db):
    class SlowBot(StubBot):
        async def send_message(self, chat_id, text, **kwargs):
            await asyncio.sleep(0.2)
            return await super().send_message(chat_id, text, **kwargs)

    bot = SlowBot()
    sender = fast_sender(demo_db, bot)
    await sender.start()
    notice = await queue_simple(demo_db, [1, 2, 3])
    await asyncio.sleep(0.1)
    await sender.stop()
    states = [
        r[0] for r in await demo_db.all("SELECT state FROM outbox WHERE notice = ?", (notice,))
    ]
    assert "sending" not in states and states.count("delivered") == len(bot.sent) >= 1


class RoundTripBot(StubBot):
    """Answers after a round trip, and records how many requests were in flight at once,
    overall and per chat."""

    def __init__(self, rtt=0.05, behaviour=None):
        super().__init__(behaviour)
        self.rtt = rtt
        self.flying: dict[int, int] = {}
        self.most = 0
        self.most_per_chat = 0
        self.uploads: list[tuple[int, int]] = []  # (chat, bytes) of each file uploaded
        self.by_id: list[tuple[int, str]] = []  # (chat, file id) of each file re-sent
        self.media: dict[int, str] = {}  # message id -> file id

    async def send_message(self, chat_id, text, **kwargs):
        self.flying[chat_id] = self.flying.get(chat_id, 0) + 1
        self.most = max(self.most, sum(self.flying.values()))
        self.most_per_chat = max(self.most_per_chat, self.flying[chat_id])
        try:
            await asyncio.sleep(self.rtt)
            return await super().send_message(chat_id, text, **kwargs)
        finally:
            self.flying[chat_id] -= 1

    async def _media(self, chat_id, content, caption, kind):
        if not isinstance(content, bytes):
            self.by_id.append((chat_id, content))  # refused or not
        sent = await self.send_message(chat_id, caption)
        if isinstance(content, bytes):
            self.uploads.append((chat_id, len(content)))
            file_id = f"{kind}-{len(self.uploads)}"
        else:
            file_id = content
        if kind == "photo":
            sizes = [SimpleNamespace(file_id=f"{file_id}-small"), SimpleNamespace(file_id=file_id)]
            return SimpleNamespace(message_id=sent.message_id, photo=sizes, document=None)
        document = SimpleNamespace(file_id=file_id)
        return SimpleNamespace(message_id=sent.message_id, photo=(), document=document)

    async def send_photo(self, chat_id, photo, caption, **kwargs):
        return await self._media(chat_id, photo, caption, "photo")

    async def send_document(self, chat_id, document, caption=None, **kwargs):
        return await self._media(chat_id, document, caption, "document")


async def test_several_requests_in_flight_one_per_chat_parts_in_order(demo_db):
    bot = RoundTripBot(rtt=0.05)
    sender = fast_sender(demo_db, bot, in_flight=6, chat_burst=50, chat_rate=1000)
    await sender.start()
    try:
        notice = await queue_simple(demo_db, range(100, 140), parts=3)
        assert (await until_finished(demo_db, notice))["delivered"] == 40
    finally:
        await sender.stop()
    assert 1 < bot.most <= 6  # several at once, never more than allowed
    assert bot.most_per_chat == 1
    for chat in range(100, 140):
        texts = [text[:6] for to, text, _ in bot.sent if to == chat]
        assert texts == ["part 0", "part 1", "part 2"]
    rows = await demo_db.all("SELECT attempts FROM outbox WHERE notice = ?", (notice,))
    assert {r[0] for r in rows} == {1}


async def test_a_chat_with_several_messages_queued_keeps_its_limit(demo_db):
    bot = RoundTripBot(rtt=0.01)
    sender = fast_sender(demo_db, bot, in_flight=8, chat_burst=1, chat_rate=10)
    await sender.start()
    try:
        notices_ = [await queue_simple(demo_db, [1, 2]) for _ in range(5)]
        for notice in notices_:
            await until_finished(demo_db, notice)
    finally:
        await sender.stop()
    for chat in (1, 2):
        times = [at for to, _, at in bot.sent if to == chat]
        assert len(times) == 5
        # one message per tenth of a second, after a burst of one (the stub's clock is the
        # time each answer came back: each left at least 0.1 s after the one before)
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert min(gaps) >= 0.09, gaps


async def test_at_most_in_flight_rows_are_sending_and_a_crash_loses_only_them(demo_db):
    notice = await queue_simple(demo_db, range(100, 130))
    found, _, _ = await outbox.due(demo_db, time.time())
    claimed = await outbox.settle_and_claim(demo_db, (), [c.id for c in found[:4]])
    assert len(claimed) == 4  # one batch, one commit: then the process dies
    bot = StubBot()
    sender = fast_sender(demo_db, bot, in_flight=4)
    await sender.start()
    try:
        assert sender.recovered == 4
        counts = await until_finished(demo_db, notice)
    finally:
        await sender.stop()
    assert counts["lost"] == 4 and counts["delivered"] == 26
    lost = {r.telegram_id for r in claimed}
    assert sorted(chat for chat, _, _ in bot.sent) == sorted(set(range(100, 130)) - lost)
    report = {t.telegram_id: t.state for t in await outbox.troubled(demo_db, notice)}
    assert report == dict.fromkeys(lost, "lost")


async def test_the_sending_rows_never_exceed_in_flight(demo_db):
    bot = RoundTripBot(rtt=0.03)
    sender = fast_sender(demo_db, bot, in_flight=5, commit_every=0.02)
    most = 0
    await sender.start()
    try:
        notice = await queue_simple(demo_db, range(100, 160))
        while (await status(demo_db, notice))["pending"]:
            row = await demo_db.one("SELECT count(*) FROM outbox WHERE state = 'sending'")
            most = max(most, row[0])
            await asyncio.sleep(0.005)
    finally:
        await sender.stop()
    assert 1 < most <= 5


async def test_stop_puts_back_what_was_claimed_but_not_sent(demo_db):
    bot = RoundTripBot(rtt=0.2)
    # one message a second overall: most claimed rows wait for their turn when stop comes
    sender = fast_sender(demo_db, bot, in_flight=5, per_second=1)
    await sender.start()
    notice = await queue_simple(demo_db, range(100, 110))
    deadline = time.monotonic() + 5
    while not bot.flying.get(100):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    await sender.stop()
    rows = await demo_db.all(
        "SELECT telegram_id, state, attempts FROM outbox WHERE notice = ? ORDER BY id", (notice,)
    )
    assert "sending" not in {r[1] for r in rows} and "lost" not in {r[1] for r in rows}
    delivered = {r[0] for r in rows if r[1] == "delivered"}
    assert delivered == {chat for chat, _, _ in bot.sent} and 100 in delivered
    assert all(r[2] == 0 for r in rows if r[1] == "pending")  # no attempt used up


PNG = b"\x89PNG\r\n\x1a\n" + b"chart" * 5000


async def test_a_photo_is_stored_once_uploaded_once_then_sent_by_its_id(demo_db):
    photos = {"en": PNG, "fr": PNG + b"fr"}
    messages = [
        Outgoing(
            i, "fr" if i % 3 == 0 else "en", "Result", photo=photos["fr" if i % 3 == 0 else "en"]
        )
        for i in range(100, 160)
    ]
    notice = await outbox.queue(demo_db, "results", messages, actor="t")
    files = await demo_db.all("SELECT id, size, telegram_file_id FROM files ORDER BY id")
    assert [(r[1], r[2]) for r in files] == [(len(PNG), None), (len(PNG) + 2, None)]
    columns = [r[1] for r in await demo_db.all("PRAGMA table_info(outbox)")]
    assert "photo" not in columns  # nothing but a reference in each recipient's row
    bot = RoundTripBot(rtt=0.03)
    sender = fast_sender(demo_db, bot, in_flight=8)
    await sender.start()
    try:
        assert (await until_finished(demo_db, notice))["delivered"] == 60
        again = await outbox.queue(demo_db, "results", messages[:5], actor="t")
        await until_finished(demo_db, again)
    finally:
        await sender.stop()
    assert sorted(size for _, size in bot.uploads) == [len(PNG), len(PNG) + 2]
    assert len(bot.by_id) == 60 + 5 - 2
    assert {file_id for _, file_id in bot.by_id} == {"photo-1", "photo-2"}
    stored = await demo_db.all("SELECT telegram_file_id FROM files ORDER BY id")
    assert {r[0] for r in stored} == {"photo-1", "photo-2"}
    assert len(await demo_db.all("SELECT id FROM files")) == 2  # the second notice reused them


async def test_a_document_keeps_its_name_and_a_stale_file_id_is_uploaded_again(demo_db):
    pdf = outbox.Attachment("document", b"%PDF-1.7 agenda", "agenda.pdf", "application/pdf")
    bot = RoundTripBot(rtt=0.01, behaviour={101: [BadRequest("Wrong file identifier"), "ok"]})
    sender = fast_sender(demo_db, bot, in_flight=4)
    await sender.start()
    try:
        first = await outbox.queue(
            demo_db, "notice", [Outgoing(100, "en", "Agenda", attachment=pdf)], actor="t"
        )
        await until_finished(demo_db, first)
        second = await outbox.queue(
            demo_db, "notice", [Outgoing(101, "en", "Agenda", attachment=pdf)], actor="t"
        )
        assert (await until_finished(demo_db, second))["delivered"] == 1
    finally:
        await sender.stop()
    # uploaded for 100; re-sent by id to 101 and refused; uploaded again for 101
    assert [chat for chat, _ in bot.uploads] == [100, 101]
    assert bot.by_id == [(101, "document-1")]
    row = await demo_db.one("SELECT file_name, mime_type, telegram_file_id FROM files")
    assert tuple(row) == ("agenda.pdf", "application/pdf", "document-2")


def test_pace_keeps_under_the_limits():
    now = [0.0]
    pace = Pace(per_second=10, chat_burst=2, chat_rate=1.0, clock=lambda: now[0])
    sent = 0
    while now[0] < 3.0:
        if pace.wait() <= 0:
            pace.take(None)
            sent += 1
        now[0] += 0.001
    assert 28 <= sent <= 30  # ten a second, never more
    assert pace.chat_wait(5) == 0
    pace.take(5)
    taken = pace.take(5)
    assert pace.chat_wait(5) == pytest.approx(1.0)
    pace.give_back(5, taken)
    assert pace.chat_wait(5) == 0
    pace.pause(2.0)
    assert pace.wait() == pytest.approx(2.0)


def test_pace_counts_answers_to_users():
    now = [0.0]
    pace = Pace(per_second=5, clock=lambda: now[0], answer_delay=0.25)
    for _ in range(5):
        pace.take(7, ours=False)  # answers leave a little after their updates arrive
    assert pace.wait() == pytest.approx(1.25)
    assert pace.chat_wait(7) > 0
    now[0] = 2.0
    for _ in range(5):
        pace.take(None)
    now[0] = 2.4
    assert pace.wait() == pytest.approx(0.6)  # a message counts from when it left


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    path = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(path))

    async def prepare():
        db = await Database(str(path)).open()
        await demo.load(db, notices.current_year("Asia/Riyadh"), meeting=False)
        for telegram_id, member in DELEGATES.items():
            await register(db, telegram_id, member, "delegate")
        await db.close()

    asyncio.run(prepare())
    return path


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def notice_count(path):
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM notices").fetchone()[0]


def test_cli_queues_and_reports(cli_env, capsys):
    code, out, err = run(capsys, "notice", "--audience", "region:african", "--text", "Hi", "--json")
    assert code == 0, err
    queued = json.loads(out)
    assert queued["recipients"] == 2
    code, out, _ = run(capsys, "notice", "status", str(queued["id"]), "--json")
    assert code == 0
    assert json.loads(out) == {
        "id": queued["id"],
        "recipients": 2,
        "delivered": 0,
        "unreachable": 0,
        "failed": 0,
        "pending": 2,
        "lost": 0,
    }
    code, out, _ = run(
        capsys,
        "notice",
        "--audience",
        "council",
        "--text-en",
        "Hello",
        "--text-fr",
        "Bonjour",
        "--text-ar",
        "مرحبا",
    )
    assert code == 0 and "queued for 4 recipients" in out
    with sqlite3.connect(cli_env) as conn:
        payloads = [json.loads(r[0])["text"] for r in conn.execute("SELECT payload FROM outbox")]
    # these delegates never chose a language, and Telegram told nothing: English
    assert sorted(p.rsplit("\n", 1)[-1] for p in payloads) == ["Hello"] * 4 + ["Hi"] * 2


@pytest.mark.parametrize(
    "argv",
    [
        ["notice", "--audience", "everyone", "--text", "x"],
        ["notice", "--audience", "all"],
        ["notice", "--audience", "all", "--text", "x", "--text-en", "y"],
        ["notice", "--audience", "all", "--text-en", "x", "--text-fr", "y"],
        ["notice", "--audience", "all", "--text", "   "],
        ["notice", "--text", "x"],
        ["notice", "status"],
        ["notice", "status", "999", "--json"],
        ["notice", "status", "1", "--audience", "all"],
    ],
)
def test_cli_errors_write_nothing(cli_env, capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("oicc-bot: ")
    assert notice_count(cli_env) == 0


def test_cli_refuses_an_empty_audience(cli_env, capsys):
    with sqlite3.connect(cli_env) as conn:
        conn.execute("DELETE FROM users WHERE member IN ('TUNIS', 'BAMAKO', 'DHAKA')")
    code, out, err = run(capsys, "notice", "--audience", "arrears", "--text", "Pay")
    assert code == 2 and "no registered delegate" in err and notice_count(cli_env) == 0
