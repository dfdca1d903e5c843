"""Notices from the General Secretariat, as the secretariat and the delegates see them."""

from __future__ import annotations

import asyncio
import os
import signal
import struct
import time
import zlib

import pytest

from bot import notices, outbox
from bot.app import services
from bot.botapi.server import BotAPIServer, FakeUser, SentMessage, visible
from bot.delivery import status
from bot.demo import MEMBERS_CSV
from bot.outbox import Outgoing
from bot.store import Database
from tests.e2e.conftest import SECRETARIAT_ID, TOKEN, YEAR, load_demo, make_settings, start_bot

MEMBER_CODES = [line.split(",")[0] for line in MEMBERS_CSV.strip().splitlines()[1:]]
HEADER = "Notice from the General Secretariat"
# PTB warns when it builds its own RetryAfter (its retry_after is changing type).
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def add_delegates(
    db: Database,
    server: BotAPIServer,
    ids: range,
    *,
    blocked: frozenset[int] = frozenset(),
    never_started: frozenset[int] = frozenset(),
) -> list[FakeUser]:
    """Delegates registered directly in the database, spread over the demo's members."""
    rows = [
        (i, "en", f"Delegate{i}", MEMBER_CODES[i % len(MEMBER_CODES)], "2026-01-01T00:00:00+00:00")
        for i in ids
    ]
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO users (telegram_id, telegram_language, first_name, member, role, joined_at)"
            " VALUES (?, ?, ?, ?, 'delegate', ?)",
            rows,
        )
    return [
        server.user(
            i,
            f"Delegate{i}",
            language_code="en",
            started=i not in never_started,
            blocked=i in blocked,
        )
        for i in ids
    ]


def seen(message: SentMessage) -> str:
    """The text as the user reads it (without the invisible bidi isolates)."""
    return visible(message.text)


def received(user: FakeUser, marker: str) -> int:
    return sum(marker in message.text for message in user.inbox)


async def finished(db: Database, notice: int, timeout: float = 30.0) -> dict[str, int]:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while True:
        row = await db.one("SELECT finished_at FROM notices WHERE id = ?", (notice,))
        if row is not None and row[0] is not None:
            return await status(db, notice)
        assert time.monotonic() < deadline, await status(db, notice)
        await asyncio.sleep(0.05)


async def test_notice_with_a_text_per_language(bot, server, secretariat):
    omar = server.user(2001, "Omar", language_code="ar")
    alice = server.user(2002, "Alice", language_code="en")
    fatou = server.user(2003, "Fatou", language_code="fr")
    for user, member in ((omar, "AMMAN"), (alice, "CAIRO"), (fatou, "DAKAR")):
        await bot.join(user, member)

    await secretariat.send("/notice")
    menu = await secretariat.expect("Who should receive it?")
    assert menu.button_texts == [
        "All delegates",
        "General Conference",
        "Administrative Council",
        "Members in arrears",
        "African region",
        "Arab region",
        "Asian region",
        "Cancel",
    ]
    await secretariat.press(menu, "All delegates")
    await menu.wait_for("All delegates, 3 recipients")
    await secretariat.press(menu, "One text per language")
    await menu.wait_for("in Arabic")
    await secretariat.send("يجتمع المجلس <غدا> & بعد غد")
    await secretariat.expect("in English")
    await secretariat.send("The council meets <tomorrow> & after")
    await secretariat.expect("in French")
    await secretariat.send("Le conseil se réunit <demain> & après")
    arabic, english, french = await secretariat.expect_many(3)
    assert "Preview in العربية" in seen(arabic) and "يجتمع المجلس <غدا> & بعد غد" in seen(arabic)
    assert seen(english).endswith(f"{HEADER}\n\nThe council meets <tomorrow> & after")
    assert "Le conseil se réunit <demain> & après" in seen(french)
    confirm = await secretariat.expect("Send this notice to All delegates, 3 recipients?")
    assert confirm.button_texts == ["Confirm", "Cancel"]

    await secretariat.press(confirm, "Confirm")
    got = await alice.expect(HEADER)
    assert seen(got) == f"{HEADER}\n\nThe council meets <tomorrow> & after"
    assert got.entities[0]["type"] == "bold"  # the header; the typed "<tomorrow>" stayed text
    assert (await omar.expect("يجتمع المجلس <غدا> & بعد غد")).text.count(HEADER) == 0
    assert (await fatou.expect("Le conseil se réunit <demain> & après")).text.count(HEADER) == 0
    # the confirmation became the progress message, then the report came
    await confirm.wait_for(["Delivered: 3 of 3", "Sending finished"])
    report = await secretariat.expect("Delivery report for notice")
    assert "Delivered: 3" in seen(report) and "Every recipient received the notice." in seen(report)
    # the buttons of a sent notice do nothing more
    await secretariat.press_data(confirm, "n:0badc0de:send")
    assert "not valid" in (await secretariat.last_answer()).text


async def test_notice_in_french_one_text_region_and_cancel(bot, server):
    awa = server.user(2101, "Awa", language_code="fr")
    musa = server.user(2102, "Musa", language_code="en")
    karim = server.user(2103, "Karim", language_code="ar")
    await bot.join(awa, "DAKAR")
    await bot.join(musa, "KANO", role="chair")  # a chair is a delegate of its member
    await bot.join(karim, "CAIRO")
    claire = server.user(2100, "Claire", language_code="fr")
    await bot.join(claire, "secretariat", role="secretariat")

    await claire.send("/notice")
    first = await claire.expect("Qui doit le recevoir")
    await claire.send("/notice")  # starting again makes the earlier buttons stale
    menu = await claire.expect("Qui doit le recevoir")
    await claire.press(first, "Région africaine")
    assert "plus valide" in (await claire.last_answer()).text
    await claire.press(menu, "Région africaine")
    await menu.wait_for("Région africaine, 2 destinataires")
    await claire.press(menu, "Un seul texte pour toutes les langues")
    await menu.wait_for("Envoyez le texte")
    await claire.send("Réunion à 10 h, salle <B>.")
    previews = await claire.expect_many(3)
    assert all("Réunion à 10 h, salle <B>." in seen(p) for p in previews)
    confirm = await claire.expect("2 destinataires")
    await claire.press(confirm, "Annuler")
    await confirm.wait_for("Rien n'a été envoyé")
    await awa.expect_nothing(0.3)

    await claire.send("/notice")
    menu = await claire.expect()
    await claire.press(menu, "Région africaine")
    await menu.wait_for("2 destinataires")
    await claire.press(menu, "Un seul texte pour toutes les langues")
    await menu.wait_for("Envoyez le texte")
    await claire.send("Réunion à 10 h, salle <B>.")
    confirm = (await claire.expect_many(4))[-1]
    await claire.press(confirm, "Confirmer")
    assert "Réunion à 10 h, salle <B>." in seen(await awa.expect("Avis du Secrétariat général"))
    assert seen(await musa.expect(HEADER)).endswith("Réunion à 10 h, salle <B>.")
    await claire.expect("Rapport de distribution")
    await karim.expect_nothing(0.2)  # Cairo is in the Arab region


async def test_audiences_reach_the_right_delegates(bot, server):
    users = {}
    for offset, member in enumerate(["TUNIS", "SG", "LAHORE", "MAKKAH", "ISTANBUL"]):
        users[member] = server.user(2200 + offset, member.title(), language_code="en")
        await bot.join(users[member], member)
    expected = {
        "arrears": {"TUNIS"},
        "council": {"SG", "MAKKAH"},
        "gc": {"TUNIS", "MAKKAH", "ISTANBUL"},  # not the office, not inactive Lahore
        "region:asian": {"LAHORE", "ISTANBUL"},
        "all": set(users),
    }
    for audience, members in expected.items():
        marker = f"to {audience}"
        notice, count = await notices.create(
            bot.db, audience, {"all": marker}, current_year=YEAR, good_standing_years=3, actor="t"
        )
        assert count == len(members), audience
        await finished(bot.db, notice)
        for member, user in users.items():
            assert received(user, marker) == (member in members), (audience, member)


async def test_long_notice_arrives_in_order_in_parts(bot, server):
    reader = server.user(2300, "Reader", language_code="en")
    await bot.join(reader, "RABAT")
    paragraphs = [f"Point {i}: budget & <annexes> " + " ".join(["détail"] * 90) for i in range(12)]
    text = "\n\n".join(paragraphs)
    notice, _ = await notices.create(
        bot.db, "all", {"all": text}, current_year=YEAR, good_standing_years=3, actor="t"
    )
    assert (await finished(bot.db, notice))["delivered"] == 1
    parts = [m.text for m in reader.inbox if "Point" in m.text or HEADER in m.text]
    assert len(parts) == 2 and parts[0].startswith(HEADER)
    assert "\n\n".join(parts) == f"{HEADER}\n\n{text.strip()}"


async def test_hundreds_of_delegates_under_flood_control(bot, server, secretariat):
    server.set_flood(True)
    server.expect_rejections(429)  # Telegram's flood control, on purpose
    server.expect_rejections(403)  # blocked the bot, or never started it
    ids = range(3000, 3250)
    blocked = frozenset(range(3000, 3250, 40))
    never_started = frozenset({3001, 3002, 3003, 3004})
    users = await add_delegates(bot.db, server, ids, blocked=blocked, never_started=never_started)
    await secretariat.send("/help")  # the secretariat is not a recipient: it asks for help
    await secretariat.expect("What you can do")
    server.reset_stats()
    started = time.monotonic()
    notice, count = await notices.create(
        bot.db, "all", {"all": "Flood test"}, current_year=YEAR, good_standing_years=3, actor="t"
    )
    assert count == 250
    latencies = []
    while (await status(bot.db, notice))["pending"] and time.monotonic() - started < 30:
        asked = time.monotonic()
        await secretariat.send("/help")
        await secretariat.expect("What you can do", timeout=3)
        latencies.append(time.monotonic() - asked)
        await asyncio.sleep(max(0.0, 1.05 - (time.monotonic() - asked)))  # Telegram: 1/s a chat
    counts = await finished(bot.db, notice)
    unreachable = len(blocked | never_started)
    assert counts["delivered"] == 250 - unreachable and counts["unreachable"] == unreachable
    assert all(received(u, "Flood test") == (u.id not in blocked | never_started) for u in users)
    assert latencies  # commands are answered during the broadcast (speed: bench/broadcast.py)
    # paced under the limits, not bounced off them (a busy machine may delay a few requests)
    assert server.stats()["rejected_429"] < 25


async def test_a_storm_of_429(bot, server):
    users = await add_delegates(bot.db, server, range(4000, 4030))
    server.force_429(3, retry_after=1)
    started = time.monotonic()
    notice, _ = await notices.create(
        bot.db, "all", {"all": "Storm"}, current_year=YEAR, good_standing_years=3, actor="t"
    )
    counts = await finished(bot.db, notice)
    assert counts["delivered"] == 30 and counts["failed"] == 0
    assert all(received(u, "Storm") == 1 for u in users)
    assert time.monotonic() - started >= 1.0  # the retry_after was honoured
    assert server.stats()["rejected_429"] == 3


async def test_a_storm_of_429_with_requests_in_flight(bot, server):
    server.rtt = 0.15  # several requests are on their way when flood control answers
    users = await add_delegates(bot.db, server, range(4100, 4160))
    server.force_429(12, retry_after=1)
    notice, _ = await notices.create(
        bot.db, "all", {"all": "Squall"}, current_year=YEAR, good_standing_years=3, actor="t"
    )
    counts = await finished(bot.db, notice)
    assert counts == {**counts, "delivered": 60, "failed": 0, "lost": 0, "pending": 0}
    assert all(received(u, "Squall") == 1 for u in users)  # each exactly once
    assert server.stats()["rejected_429"] == 12
    rows = await bot.db.all("SELECT attempts FROM outbox WHERE notice = ?", (notice,))
    assert {r[0] for r in rows} == {1}  # waiting out a 429 does not use up an attempt


async def test_one_chat_with_several_messages_queued_stays_under_its_limit(bot, server):
    server.set_flood(True)
    server.rtt = 0.05
    users = await add_delegates(bot.db, server, range(4200, 4205))
    server.reset_stats()
    queued = []
    for number in range(6):  # six notices in a row, each in two parts for everyone
        text = f"Notice {number}\n\n" + "a" * 3000 + "\n\n" + "b" * 3000
        notice, _ = await notices.create(
            bot.db, "all", {"all": text}, current_year=YEAR, good_standing_years=3, actor="t"
        )
        queued.append(notice)
    for notice in queued:
        assert (await finished(bot.db, notice))["delivered"] == 5
    assert server.stats()["rejected_429"] == 0  # 12 messages a chat, paced under ~1 a second
    for user in users:
        mine = [m.text for m in user.inbox if HEADER in m.text or m.text.startswith("b")]
        assert len(mine) == 12  # in queue order, each second part right after its first
        pairs = zip(mine[::2], mine[1::2], strict=True)
        assert [(first.split("\n")[2], second[:3]) for first, second in pairs] == [
            (f"Notice {n}", "bbb") for n in range(6)
        ]


def png(width: int, height: int) -> bytes:
    """A real PNG image (a grey rectangle)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes([128, 128, 128]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = png(640, 480)


async def test_a_photo_to_many_is_uploaded_once_then_sent_by_file_id(bot, server):
    server.rtt = 0.05
    users = await add_delegates(bot.db, server, range(4300, 4340))
    messages = [Outgoing(u.id, "en", "<b>Result</b>", photo=PNG) for u in users]
    notice = await outbox.queue(bot.db, "results", messages, ref="t", actor="t")
    assert (await finished(bot.db, notice))["delivered"] == 40
    for user in users:
        (message,) = [m for m in user.inbox if m.photo_bytes is not None]
        assert message.photo_bytes == PNG and message.caption == "Result"
    sent = [call.params["photo"] for call in server.calls_to("sendPhoto") if call.status == 200]
    uploads = [p for p in sent if p.startswith("<file")]
    assert len(sent) == 40 and len(uploads) == 1
    row = await bot.db.one("SELECT count(*), sum(size) FROM files")
    assert tuple(row) == (1, len(PNG))  # stored once, not in every recipient's row


async def test_the_sender_runs_with_the_application(bot):
    sender = services(bot.application).extras["sender"]
    assert sender.running
    await bot.restart()
    assert not sender.running and services(bot.application).extras["sender"].running


# --- kill -9 in the middle of a broadcast ---------------------------------------------------

IN_FLIGHT = 8


async def test_kill_9_mid_broadcast_with_requests_in_flight(server, tmp_path):
    secretariat = server.user(SECRETARIAT_ID, "Sara", language_code="en", started=True)
    server.rtt = 0.25  # a distant Telegram: several requests are always on their way
    settings = make_settings(tmp_path, server)
    await load_demo(settings.database_path)
    db = await Database(settings.database_path).open()
    users = await add_delegates(db, server, range(5000, 5300))
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": server.base_url,
        "DATABASE_PATH": settings.database_path,
        "SECRETARIAT_IDS": str(SECRETARIAT_ID),
        "OUTBOX_IN_FLIGHT": str(IN_FLIGHT),
        "LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "bot.log"
    first = await start_bot(env, log)
    try:
        notice, _ = await notices.create(
            db,
            "all",
            {"all": "Kill test"},
            current_year=YEAR,
            good_standing_years=3,
            created_by=SECRETARIAT_ID,
        )
        deadline = time.monotonic() + 60
        while sum(received(u, "Kill test") for u in users) < 100:
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        at_kill = await db.one("SELECT count(*) FROM outbox WHERE state = 'sending'")
        assert 1 < at_kill[0] <= IN_FLIGHT  # several in flight, never more than allowed
        assert sum(received(u, "Kill test") for u in users) < 300

        second = await start_bot(env, log)
        try:
            counts = await finished(db, notice, timeout=60)
            report = await secretariat.expect("Delivery report for notice", timeout=30)
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), 15)
        rows = await db.all(
            "SELECT telegram_id, state FROM outbox WHERE notice = ? ORDER BY id", (notice,)
        )
    finally:
        if first.returncode is None:
            first.kill()
        await db.close()
    per_user = {u.id: received(u, "Kill test") for u in users}
    assert max(per_user.values()) == 1  # nobody got it twice
    lost = {telegram_id for telegram_id, state in rows if state == "lost"}
    assert len(lost) == counts["lost"] <= at_kill[0] <= IN_FLIGHT
    missing = {uid for uid, n in per_user.items() if n == 0}
    assert missing <= lost  # whoever did not get it is reported as lost
    assert counts["delivered"] + counts["lost"] == 300 and counts["pending"] == 0
    assert {telegram_id for telegram_id, state in rows if state == "delivered"} == (
        set(per_user) - lost
    )
    text = seen(report)
    if lost:
        assert f"may or may not have arrived): {len(lost)}" in text
        assert all(f"Delegate{uid}" in text for uid in lost)  # each one named
