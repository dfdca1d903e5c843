"""Meetings and resolutions, as delegates and chairs live them (R1, R3-R8, R12)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta

from bot import clock
from bot.botapi.server import visible
from bot.store import meetings as store
from bot.store.meetings import AgendaItem
from tests.e2e.conftest import until

AGENDA = [
    AgendaItem("1", "Budget", "Budget", "الميزانية"),
    AgendaItem("2", "Report", "Rapport", "التقرير"),
]
# The demo General Conference: 15 active capitals and cities, of whom TUNIS, BAMAKO and
# DHAKA are in arrears, so 12 hold a voting right and 12 // 2 + 1 = 7 are needed.
GC_VOTING = [
    "MAKKAH",
    "MADINAH",
    "QUDS",
    "CAIRO",
    "AMMAN",
    "RABAT",
    "DAKAR",
    "ABUJA",
    "KANO",
    "ISLAMABAD",
    "KUALALUMPUR",
    "ISTANBUL",
]


async def gc_meeting(bot, chair="CAIRO", kind="ordinary", agenda=AGENDA):
    return await store.create_meeting(
        bot.db,
        "gc",
        kind,
        "Session",
        clock.now() - timedelta(minutes=1),
        "Asia/Riyadh",
        chair,
        agenda,
        actor="test",
    )


async def delegates(bot, server, codes, start=2000, language="en"):
    users = {}
    for n, code in enumerate(codes):
        user = server.user(start + n, code.title(), language_code=language)
        await bot.join(user, code)
        users[code] = user
    return users


async def chair_of(bot, server, code="CAIRO", user_id=1900):
    chair = server.user(user_id, "Chair", language_code="en")
    await bot.join(chair, code, role="chair")
    return chair


async def opened(chair):
    """After /motion or /election the chair gets a ballot and the turnout, in either order."""
    first, second = await chair.expect_many(2)
    if "Turnout" in first.text:
        first, second = second, first
    assert "Turnout" in second.text
    return first, second


async def check_in(users):
    for user in users.values():
        await user.send("/checkin")
        await user.expect("checked in")


async def in_session(bot, server, codes, chair_member="CAIRO"):
    """The chair and the delegates of ``codes`` check in; the chair opens the session."""
    chair = await chair_of(bot, server, chair_member)
    users = await delegates(bot, server, codes)
    await chair.send("/checkin")
    await chair.expect("checked in")
    await check_in(users)
    await chair.send("/call_quorum")
    await chair.expect("Quorate")
    return chair, users


SIX = ["AMMAN", "RABAT", "DAKAR", "ABUJA", "KANO", "ISLAMABAD"]


async def test_quorum_at_the_edge_then_in_session(bot, server):
    meeting = await gc_meeting(bot)
    chair = await chair_of(bot, server)
    users = await delegates(bot, server, [c for c in GC_VOTING if c != "CAIRO"][:5] + ["TUNIS"])
    await chair.send("/checkin")
    await chair.expect("Cairo is checked in")
    await check_in({c: u for c, u in users.items() if c != "TUNIS"})
    # 6 of 12 with a voting right: one below the quorum
    await chair.send("/quorum")
    text = visible((await chair.expect("6 members attending")).text)
    assert "Base 12, needed 7, counted 6" in text
    assert "1 more member needed" in text
    tunis = users["TUNIS"]
    await tunis.send("/checkin")
    notice = await tunis.expect("checked in")
    assert "does not count toward the quorum" in visible(notice.text)
    await chair.send("/quorum")
    assert "counted 6" in visible((await chair.expect()).text)
    seventh = (await delegates(bot, server, ["ISTANBUL"], start=2100))["ISTANBUL"]
    await seventh.send("/checkin")
    await seventh.expect("checked in")
    await chair.send("/call_quorum")
    opened = await chair.expect("Quorate")
    assert "in session" in opened.text
    state = await store.get_meeting(bot.db, meeting)
    assert state.in_session_at is not None and state.postponed_until is None
    await seventh.send("/call_quorum")
    await seventh.expect("Only")


async def test_checkin_is_per_member_and_checkout(bot, server):
    await gc_meeting(bot)
    first, second = (
        server.user(2200, "A", language_code="en"),
        server.user(2201, "B", language_code="en"),
    )
    await bot.join(first, "AMMAN")
    await bot.join(second, "AMMAN")
    await first.send("/checkin")
    await first.expect("Amman is checked in")
    await second.send("/checkin")
    await second.expect("already checked in")
    await second.send("/checkout")
    await second.expect("checked out")
    await first.send("/checkout")
    await first.expect("not checked in")


async def test_no_meeting_no_checkin(bot, server):
    user = server.user(2300, "Lone", language_code="en")
    await bot.join(user, "AMMAN")
    await user.send("/checkin")
    await user.expect("no current meeting")


async def test_open_vote_tie_broken_by_chair_both_ways(bot, server):
    meeting = await gc_meeting(bot)
    chair, users = await in_session(bot, server, [*SIX, "MAKKAH"])
    for round_, chair_choice in ((1, "Yes"), (2, "No")):
        await chair.send(f"/motion {round_}")
        ballot, turnout = await opened(chair)
        assert "0 of 8" in visible(turnout.text)
        # roll of 8: 4 yes (chair's member included when chair says yes), 4 no
        choices = {
            "AMMAN": "Yes",
            "RABAT": "Yes",
            "DAKAR": "Yes",
            "ABUJA": "No",
            "KANO": "No",
            "ISLAMABAD": "No",
            "MAKKAH": "Yes" if chair_choice == "No" else "No",
        }
        await vote(chair, ballot, chair_choice)
        for code, choice in choices.items():
            user = users[code]
            await vote(user, await user.expect("Item"), choice)
        await chair.send("/close")
        result = visible((await chair.expect("Roll")).text)
        assert "tied; the chair's vote prevailed" in result
        assert ("Adopted" if chair_choice == "Yes" else "Rejected") in result
        exported = await store.get_question(
            bot.db, (await store.questions_of(bot.db, meeting))[-1].id
        )
        assert exported.result["tie_broken_by_chair"] is True
        assert exported.result["outcome"] == ("adopted" if chair_choice == "Yes" else "rejected")
        assert {"member": "AMMAN", "choice": "yes"} in exported.result["votes"]


async def vote(user, ballot, choice):
    await user.press(ballot, choice)
    confirm = await ballot.wait_for(lambda m: "Confirm" in m.button_texts)
    assert confirm.button_texts == ["Confirm", "Cancel"]
    await user.press(confirm, "Confirm")
    await ballot.wait_for(lambda m: "voted" in m.text)


async def test_equal_yes_and_no_with_abstention_is_rejected_without_tie_break(bot, server):
    await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    await chair.send("/motion 2")
    ballot, _ = await opened(chair)
    await vote(chair, ballot, "Yes")
    for code, choice in {
        "AMMAN": "Yes",
        "RABAT": "Yes",
        "DAKAR": "No",
        "ABUJA": "No",
        "KANO": "No",
    }.items():
        await vote(users[code], await users[code].expect("Item"), choice)
    await vote(users["ISLAMABAD"], await users["ISLAMABAD"].expect("Item"), "Abstain")
    await chair.send("/close")
    result = visible((await chair.expect("Roll")).text)
    assert "Rejected" in result and "prevailed" not in result


async def test_late_checkin_forged_and_replayed_buttons(bot, server):
    meeting = await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    await chair.send("/motion 1")
    ballot, _ = await opened(chair)
    late = (await delegates(bot, server, ["ISTANBUL"], start=2500))["ISTANBUL"]
    await late.send("/checkin")
    assert "roll was fixed" in visible((await late.expect("checked in")).text)
    question = (await store.questions_of(bot.db, meeting))[-1].id
    # a late member forges the ballot's buttons: refused, nothing recorded
    await late.press_data(None, f"vc:{question}:y")
    assert "not on the roll" in (await late.last_answer()).text
    # a member votes, then replays the same confirmation
    amman = users["AMMAN"]
    amman_ballot = await amman.expect("Item")
    await vote(amman, amman_ballot, "No")
    await amman.press_data(amman_ballot, f"vc:{question}:y")
    assert "already voted" in (await amman.last_answer()).text
    # the same update delivered twice by Telegram records one vote
    rabat = users["RABAT"]
    rabat_ballot = await rabat.expect("Item")
    await rabat.press(rabat_ballot, "Yes")
    confirm = await rabat_ballot.wait_for(lambda m: "Confirm" in m.button_texts)
    pressed = await rabat.press(confirm, "Confirm")
    server.duplicate_last_update(rabat)
    # Telegram refuses the second answer to the same press.
    server.expect_rejections(400, "query is too old")
    await rabat_ballot.wait_for(lambda m: "voted" in m.text)
    await until(server, lambda: answers_to(server, pressed.query_id) == 2)  # both handled
    votes = await store.open_votes(bot.db, question)
    assert votes == {"AMMAN": "n", "RABAT": "y"}
    await chair.press_data(None, f"v:{question}:zz")
    assert "not valid" in (await chair.last_answer()).text


async def test_two_delegates_of_one_member_confirm_at_once(bot, server):
    meeting = await gc_meeting(bot)
    chair = await chair_of(bot, server)
    users = await delegates(bot, server, ["AMMAN", "RABAT", "DAKAR", "ABUJA", "KANO", "ISLAMABAD"])
    twin = server.user(2600, "Twin", language_code="en")
    await bot.join(twin, "AMMAN")
    await chair.send("/checkin")
    await chair.expect("checked in")
    await check_in(users)
    await chair.send("/call_quorum")
    await chair.expect("Quorate")
    await chair.send("/motion 1")
    await opened(chair)
    question = (await store.questions_of(bot.db, meeting))[-1].id
    first, second = users["AMMAN"], twin
    b1, b2 = await first.expect("Item"), await second.expect("Item")
    await first.press(b1, "Yes")
    await second.press(b2, "No")
    c1 = await b1.wait_for(lambda m: "Confirm" in m.button_texts)
    c2 = await b2.wait_for(lambda m: "Confirm" in m.button_texts)
    await asyncio.gather(first.press(c1, "Confirm"), second.press(c2, "Confirm"))
    answers = [(await first.last_answer()).text, (await second.last_answer()).text]
    assert sorted("recorded" in a for a in answers) == [False, True]
    assert any("already voted" in a for a in answers)
    assert len(await store.open_votes(bot.db, question)) == 1
    # both delegates' ballots show what was recorded for their member
    recorded = (await store.open_votes(bot.db, question))["AMMAN"]
    word = {"y": "Yes", "n": "No"}[recorded]
    await b1.wait_for(lambda m: f"voted: {word}" in visible(m.text))
    await b2.wait_for(lambda m: f"voted: {word}" in visible(m.text))


async def test_off_agenda_motion_refused_in_extraordinary_session(bot, server):
    await gc_meeting(bot, kind="extraordinary", agenda=[AgendaItem("X1", "Seat", "Siège", "المقر")])
    chair = await chair_of(bot, server)
    users = await delegates(bot, server, ["AMMAN", "RABAT", "DAKAR", "ABUJA", "KANO", "ISLAMABAD"])
    await chair.send("/motion X1")
    await chair.expect("not in session")
    await chair.send("/checkin")
    await chair.expect("checked in")
    await check_in(users)
    await chair.send("/call_quorum")
    await chair.expect("Quorate")
    await chair.send("/motion 7")
    await chair.expect("only the questions it was convened for")
    await chair.send("/motion X1 secret")
    ballot, _ = await opened(chair)
    assert "Secret ballot" in ballot.text


async def test_secret_vote_keeps_choices_apart_and_lists_receipts(bot, server, tmp_path):
    meeting = await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    await chair.send("/motion 1 secret")
    chair_ballot, _ = await opened(chair)
    receipts = []
    for user, choice in [
        (chair, "Yes"),
        *[(users[c], "Yes") for c in ("AMMAN", "RABAT", "DAKAR")],
        *[(users[c], "No") for c in ("ABUJA", "KANO")],
    ]:
        ballot = chair_ballot if user is chair else await user.expect("Secret ballot")
        await vote(user, ballot, choice)
        final = visible(ballot.text)
        receipts.append(final.split("receipt:")[1].split(".")[0].strip(" \u2068\u2069"))
    await chair.send("/close")
    result = visible((await chair.expect("Roll")).text)
    assert "Adopted" in result
    for receipt in receipts:
        assert receipt in result
    question = (await store.questions_of(bot.db, meeting))[-1]
    stored = await store.get_question(bot.db, question.id)
    assert stored.result["votes"] == [] and sorted(stored.result["receipts"]) == sorted(receipts)
    with sqlite3.connect(bot.settings.database_path) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(ballots)")]
        assert columns == ["question", "receipt", "choice"]
        assert conn.execute("SELECT count(*) FROM votes").fetchone()[0] == 0
        details = [
            r[0] for r in conn.execute("SELECT details FROM audit_log WHERE action = 'vote_cast'")
        ]
        assert details and all("choice" not in d for d in details)


async def council_meeting(bot):
    return await store.create_meeting(
        bot.db,
        "council",
        "ordinary",
        "Council",
        clock.now() - timedelta(minutes=1),
        "Asia/Riyadh",
        "AMMAN",
        AGENDA,
        actor="test",
    )


async def test_postponement_reconvenes_after_a_restart(bot, server):
    # The council: MAKKAH, MADINAH, QUDS, SG, CAIRO, AMMAN, DAKAR, ISLAMABAD, KUALALUMPUR.
    await bot.restart(postponement_minutes=0.05)  # 3 seconds
    meeting = await council_meeting(bot)
    chair = await chair_of(bot, server, "AMMAN")
    users = await delegates(bot, server, ["CAIRO", "DAKAR", "MAKKAH"], start=2700)
    outsider = (await delegates(bot, server, ["RABAT"], start=2750))["RABAT"]
    await chair.send("/checkin")
    await chair.expect("checked in")
    await check_in(users)  # 4 of 9 attend; 5 are needed
    await outsider.send("/checkin")
    await outsider.expect("no current meeting")
    await chair.send("/call_quorum")
    await chair.expect("postponed until")
    for user in [chair, *users.values()]:
        await user.expect(["quorum was not reached", "4 of 5"])
    await outsider.expect_nothing(0.2)
    state = await store.get_meeting(bot.db, meeting)
    assert state.postponed_until is not None and state.reconvened_at is None
    # the bot goes down before the reconvene time and comes back after it: the time it
    # reconvenes at is stored, and moved into the past here instead of waiting for it
    await bot.stop()
    async with bot.db_while_stopped() as db, db.transaction() as tx:
        await tx.execute(
            "UPDATE meetings SET postponed_until = ? WHERE id = ?",
            (clock.iso(clock.now() - timedelta(seconds=1)), meeting),
        )
    await bot.start()
    for user in [chair, *users.values()]:
        await user.expect("reconvened and is in session", timeout=10)
    state = await store.get_meeting(bot.db, meeting)
    assert state.reconvened_at is not None and state.in_session_at is not None
    # there is one postponement per meeting
    await chair.send("/call_quorum")
    await chair.expect("already in session")
    await chair.send("/adjourn")
    await chair.expect("closed")
    assert (await store.get_meeting(bot.db, meeting)).closed_at is not None


def answers_to(server, query_id: str) -> int:
    """How many times the bot answered this button press (a second answer is refused)."""
    return sum(
        1
        for call in server.calls_to("answerCallbackQuery")
        if call.params.get("callback_query_id") == query_id
    )


async def test_extraordinary_session_request_counted_against_all_members(bot, server):
    # ten active members in good standing must sign; two thirds of the 15 active members
    # (10) must approve, whoever attends.
    signers = await delegates(bot, server, GC_VOTING[:10], start=2800)
    tunis = (await delegates(bot, server, ["TUNIS"], start=2850))["TUNIS"]
    first = signers["MAKKAH"]
    await first.send("/request_session gc Relocation of the headquarters")
    text = visible((await first.expect("Request 1")).text)
    assert "Signed by 1 of the 10" in text and "cannot be convened yet" in text
    await tunis.send("/request_session 1")
    await tunis.expect("good standing")
    for code in GC_VOTING[1:10]:
        await signers[code].send("/request_session 1")
        await signers[code].expect("Request 1")
    await first.send("/request_session 1")
    await first.expect("already signed")
    for n, code in enumerate(GC_VOTING[:9]):
        await signers[code].send("/approve_session 1")
        reply = visible((await signers[code].expect("Request 1")).text)
        assert f"Approved by {n + 1} of 15 members; 10 needed" in reply
    await tunis.send("/approve_session 1")  # an active member in arrears may approve
    assert "can be convened" in visible((await tunis.expect("Request 1")).text)
    await tunis.send("/approve_session 99")
    await tunis.expect("no request 99")


async def test_meeting_created_from_the_cli_is_announced_to_its_body(bot, server, tmp_path):
    import sys

    users = await delegates(bot, server, ["CAIRO", "SG"], start=2900)
    arabic = server.user(2950, "Amal", language_code="ar")
    await bot.join(arabic, "AMMAN")
    (tmp_path / "agenda.csv").write_text(
        "item,title_en,title_fr,title_ar\n1,Budget,Budget,الميزانية\n", encoding="utf-8"
    )
    env = {"DATABASE_PATH": bot.settings.database_path, "PATH": "/usr/bin:/bin"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "meeting",
        "create",
        "--body",
        "gc",
        "--kind",
        "ordinary",
        "--title",
        "Tenth session",
        "--starts",
        "2026-12-01T09:00",
        "--chair-member",
        "RABAT",
        "--agenda",
        str(tmp_path / "agenda.csv"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    notice = visible((await users["CAIRO"].expect("is convened", timeout=10)).text)
    assert "Tenth session" in notice and "1. Budget" in notice and "1448" in notice
    assert "الميزانية" in (await arabic.expect(timeout=10)).text
    await users["SG"].expect_nothing(0.5)  # the Secretary General sits on the council only


async def test_two_current_meetings_the_bot_asks_which(bot, server):
    gc = await gc_meeting(bot)
    council = await council_meeting(bot)
    cairo = (await delegates(bot, server, ["CAIRO"], start=3100))["CAIRO"]  # sits in both
    rabat = (await delegates(bot, server, ["TUNIS"], start=3150))["TUNIS"]  # the GC only
    await cairo.send("/checkin")
    ask = await cairo.expect("Which one?")
    assert [b.text for row in ask.buttons for b in row] == [
        "General Conference: Session",
        "Administrative Council: Council",
    ]
    await cairo.press(ask, "Administrative Council: Council")
    await cairo.expect("checked in for Administrative Council")
    assert await store.attending(bot.db, council) == ["CAIRO"]
    assert await store.attending(bot.db, gc) == []
    await rabat.send("/checkin")
    await rabat.expect("checked in for General Conference")
    # a button naming a meeting the member does not sit in changes nothing
    await rabat.press_data(None, f"m:checkin:{council}")
    await rabat.expect("not valid any more")
    assert await store.attending(bot.db, council) == ["CAIRO"]
