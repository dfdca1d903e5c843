"""The secretariat runs the session from Telegram: meetings and agenda for everyone, who
speaks for a member, and unbinding a lost phone (Telegram and the command line)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta

from bot import clock
from bot.botapi.server import visible
from bot.store import audit
from bot.store import meetings as store
from tests.e2e.test_meetings import AGENDA, SIX, in_session, opened


async def vote(user, ballot, choice):
    """Choose, confirm, and wait until the ballot shows what was recorded."""
    await user.press(ballot, choice)
    confirm = await ballot.wait_for(lambda m: "Confirm" in m.button_texts)
    await user.press(confirm, "Confirm")
    await ballot.wait_for("✅")


async def council_meeting(bot, starts_in: timedelta):
    return await store.create_meeting(
        bot.db,
        "council",
        "ordinary",
        "Budget council",
        clock.now() + starts_in,
        "Asia/Riyadh",
        "MAKKAH",
        AGENDA,
        actor="test",
    )


async def gc_meeting(bot):
    return await store.create_meeting(
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


async def actions(bot, name):
    return [e for e in await audit.entries(bot.db) if e.action == name]


async def test_meetings_lists_current_and_upcoming_with_hijri_dates(bot, server):
    await gc_meeting(bot)
    await council_meeting(bot, timedelta(days=3))
    rabat = server.user(3000, "Rabat", language_code="en")  # not on the council
    cairo = server.user(3001, "Cairo", language_code="ar")  # an elected council member
    await bot.join(rabat, "RABAT")
    await bot.join(cairo, "CAIRO")
    await rabat.send("/meetings")
    text = visible((await rabat.expect("Meetings")).text)
    assert "General Conference: Session" in text and "AH" in text
    assert "Open; the chair has not called the quorum yet." in text
    assert "Budget council" not in text
    await cairo.send("/meetings")
    text = visible((await cairo.expect("الاجتماعات")).text)
    assert "المؤتمر العام" in text and "Budget council" in text
    assert "مقبل." in text and "هـ" in text
    stranger = server.user(3002, "Nobody", language_code="en")
    await stranger.send("/meetings")
    await stranger.expect("not registered")


async def test_agenda_in_the_readers_language_with_how_each_item_was_voted(bot, server):
    await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    reader = server.user(3100, "Lecteur", language_code="fr")
    await bot.join(reader, "MAKKAH")
    await reader.send("/agenda")
    text = visible((await reader.expect("Ordre du jour")).text)
    assert "1. Budget" in text and "2. Rapport" in text
    assert text.count("pas encore mis aux voix") == 2
    await chair.send("/motion 1")
    ballot, _ = await opened(chair)
    await vote(chair, ballot, "Yes")
    for code in SIX:
        await vote(users[code], await users[code].expect("Item"), "Yes")
    await chair.send("/close")
    await chair.expect("Adopted")
    await chair.send("/motion 2 secret")
    await opened(chair)
    await reader.send("/agenda")
    text = visible((await reader.expect("Ordre du jour")).text)
    assert "✅ résolution adoptée (vote public)" in text
    assert "🗳 vote en cours (bulletin secret)" in text
    arabic = server.user(3101, "Qari", language_code="ar")
    await bot.join(arabic, "MADINAH")
    await arabic.send("/agenda")
    text = visible((await arabic.expect("جدول الأعمال")).text)
    assert "الميزانية" in text and "التقرير" in text and "اعتُمد" in text


async def test_unbinding_a_lost_phone(bot, server, secretariat):
    await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    lost = users["AMMAN"]  # joined as the first of the six
    spare = server.user(3200, "Spare", language_code="en", username="spare")
    await bot.join(spare, "AMMAN")
    await secretariat.send("/delegates AMMAN")
    text = visible((await secretariat.expect("Amman (AMMAN)")).text)
    assert f"Telegram id {lost.id}" in text and "Spare (@spare): delegate" in text
    await secretariat.send("/delegates")
    text = visible((await secretariat.expect("Who speaks for each member")).text)
    assert "Cairo (CAIRO)" in text and "chair" in text
    assert "have no delegate yet" in text and "TUNIS" in text

    # Question 1: the lost phone's account votes before it is unbound; the vote stays.
    await chair.send("/motion 1")
    await opened(chair)
    await vote(lost, await lost.expect("Item"), "No")
    await spare.expect("Item")  # the same member's ballot, now showing the vote
    await chair.send("/close")
    await chair.expect("Roll")
    # Question 2: its ballot is delivered, then the account is unbound.
    await chair.send("/motion 2")
    _, live = await opened(chair)
    stale = await lost.expect("Item")
    fresh = await spare.expect("Item")
    users["RABAT"].skip()  # its ballots
    await users["RABAT"].send(f"/unbind {lost.id}")
    await users["RABAT"].expect("Only the General Secretariat")
    await secretariat.send(f"/unbind {lost.id}")
    text = visible((await secretariat.expect("no longer speaks for Amman")).text)
    assert "Amman keeps 1 other delegate." in text and "/invite AMMAN" in text
    answer = await (await lost.press(stale, "Yes")).answer()
    assert answer.show_alert and "not registered" in answer.text
    assert not stale.edited
    await vote(spare, fresh, "Yes")
    # The chair's turnout is refreshed once the vote has been shown on every ballot.
    await live.wait_for("1 of 7 members on the roll have voted")
    assert not stale.edited  # the lost phone is shown nothing of the vote
    first, second = await store.questions_of(bot.db, 1)
    assert (await store.open_votes(bot.db, first.id)) == {"AMMAN": "n"}
    assert (await store.open_votes(bot.db, second.id)) == {"AMMAN": "y"}
    [entry] = await actions(bot, "delegate_unbound")
    assert entry.member == "AMMAN" and json.loads(entry.details)["role"] == "delegate"
    await secretariat.send("/delegates AMMAN")
    text = visible((await secretariat.expect("Amman (AMMAN)")).text)
    assert str(lost.id) not in text and "Spare" in text
    # Refusals change nothing.
    for command, reply in (
        (f"/unbind {lost.id}", "No delegate's account has the Telegram id"),
        (f"/unbind {secretariat.id}", "No delegate's account"),
        ("/unbind someone", "Usage: /unbind TELEGRAM_ID"),
        ("/delegates ROME", "There is no member with the code ROME"),
    ):
        await secretariat.send(command)
        await secretariat.expect(reply)
    assert len(await actions(bot, "delegate_unbound")) == 1
    # The same person joins again from a new phone with a new invitation.
    await bot.join(lost, "AMMAN")
    await lost.send("/vote")
    await lost.expect("No ballot is waiting")


async def test_unbind_in_french_and_the_chair_menu_goes(bot, server):
    officer = server.user(3300, "Officier", language_code="fr")
    await bot.join(officer, "secretariat", role="secretariat")
    chair = server.user(3301, "Président", language_code="fr")
    await bot.join(chair, "CAIRO", role="chair")
    await chair.send("/help")
    await chair.expect("/motion")
    assert {"motion", "turnout", "remind", "withdraw", "meetings", "agenda"} <= set(
        dict(chair.commands())
    )
    assert "unbind" not in dict(chair.commands())
    await officer.send(f"/unbind {officer.id}")
    await officer.expect("compte du Secrétariat général")
    await officer.send(f"/unbind {chair.id}")
    text = visible((await officer.expect("ne représente plus Le Caire")).text)
    assert "Le Caire conserve 0 autres délégués." in text or "0 autre délégué" in text
    assert "motion" not in dict(chair.commands())
    await chair.send("/motion 1")
    await chair.expect("pas encore enregistré")
    assert {c for c, _ in officer.commands()} >= {
        "delegates",
        "unbind",
        "present",
        "absent",
        "meetings",
        "agenda",
    }
    await officer.send("/help")
    assert "/present" in (await officer.expect("/unbind")).text


async def cli(bot, *argv):
    env = {**os.environ, "DATABASE_PATH": bot.settings.database_path, "BOT_TOKEN": ""}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *argv,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode, out.decode(), err.decode()


async def test_delegates_from_the_command_line(bot, server):
    first = server.user(3400, "First", language_code="en")
    second = server.user(3401, "Second", language_code="ar")
    await bot.join(first, "RABAT")
    await bot.join(second, "RABAT", role="chair")
    code, out, _ = await cli(bot, "delegates", "list", "rabat", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [(d["telegram_id"], d["role"]) for d in listed] == [(3400, "delegate"), (3401, "chair")]
    assert all(d["member"] == "RABAT" and d["joined_at"] for d in listed)
    code, out, err = await cli(bot, "delegates", "list", "ROME")
    assert code == 2 and "unknown member ROME" in err and not out
    code, out, _ = await cli(bot, "delegates", "unbind", "3401")
    assert code == 0 and "no longer speaks for RABAT" in out
    code, _, err = await cli(bot, "delegates", "unbind", "3401")
    assert code == 2 and err.count("\n") == 1
    code, out, _ = await cli(bot, "delegates", "list", "--json")
    assert 3401 not in [d["telegram_id"] for d in json.loads(out)]
    [entry] = await actions(bot, "delegate_unbound")
    assert entry.actor == "cli" and entry.member == "RABAT"
    await second.send("/checkin")
    await second.expect("لم يتم تسجيلكم بعد")
