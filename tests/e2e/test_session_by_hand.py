"""The secretariat's session work beyond the happy path: attendance by hand, withdrawing a
question opened by mistake, vote deadlines and reminders (also across a restart)."""

from __future__ import annotations

import json
from datetime import timedelta

from bot import clock
from bot.botapi.server import visible
from bot.store import audit
from bot.store import meetings as store
from tests.e2e.test_meetings import AGENDA, SIX, delegates, in_session, opened
from tests.e2e.test_secretariat import cli, gc_meeting, vote


async def actions(bot, name):
    return [e for e in await audit.entries(bot.db) if e.action == name]


async def test_a_member_without_a_phone_is_marked_present_and_votes_only_through_its_delegate(
    bot, server, secretariat
):
    meeting = await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    await secretariat.send("/present KUALALUMPUR")
    await secretariat.expect("Why is Kuala Lumpur marked present")
    await secretariat.send("Its delegate has no phone")
    text = visible((await secretariat.expect("marked present")).text)
    assert "Reason: Its delegate has no phone" in text
    assert "counts against adoption" in text and "no delegate with a Telegram account" in text
    [entry] = await actions(bot, "attendance_marked")
    assert entry.member == "KUALALUMPUR"
    assert json.loads(entry.details) == {
        "meeting": meeting,
        "present": True,
        "reason": "Its delegate has no phone",
    }
    await chair.send("/quorum")
    assert "8 members attending" in visible((await chair.expect("attending")).text)
    # Its delegate arrives later with a phone: the ballot reaches only that account.
    kl = (await delegates(bot, server, ["KUALALUMPUR"], start=3500))["KUALALUMPUR"]
    await chair.send("/motion 1")
    await opened(chair)
    question = (await store.questions_of(bot.db, meeting))[-1]
    assert "KUALALUMPUR" in await store.roll_of(bot.db, question.id)
    # Nobody else votes for it: not the secretariat, not another member's delegate.
    await secretariat.press_data(None, f"vc:{question.id}:y")
    assert "Only delegates of a member" in (await secretariat.last_answer()).text
    await vote(kl, await kl.expect("Item"), "Yes")
    assert await store.open_votes(bot.db, question.id) == {"KUALALUMPUR": "y"}
    code, out, _ = await cli(
        bot, "export", "attendance", "--meeting", str(meeting), "--format", "json"
    )
    assert code == 0
    rows = {row["member"]: row for row in json.loads(out)["members"]}
    assert rows["KUALALUMPUR"]["checked_in_by"] == "secretariat"
    assert rows["KUALALUMPUR"]["reason"] == "Its delegate has no phone"
    assert rows["AMMAN"]["checked_in_by"] == "delegate"
    assert rows["TUNIS"]["checked_in_by"] is None
    code, out, _ = await cli(
        bot, "export", "attendance", "--meeting", str(meeting), "--format", "csv"
    )
    header, *lines = out.splitlines()
    assert "checked_in_by" in header and "reason" in header
    assert any("KUALALUMPUR" in line and "secretariat" in line for line in lines)


async def test_two_current_meetings_the_officer_picks_one_with_buttons(bot, server, secretariat):
    await gc_meeting(bot)
    council = await store.create_meeting(
        bot.db,
        "council",
        "ordinary",
        "Council",
        clock.now() - timedelta(minutes=1),
        "Asia/Riyadh",
        "MAKKAH",
        AGENDA,
        actor="test",
    )
    await secretariat.send("/present CAIRO The mayor attends in person")
    question = await secretariat.expect("Which one?")
    await secretariat.press(question, "Administrative Council: Council")
    await secretariat.expect("Cairo is marked present at Administrative Council: Council")
    assert await store.attending(bot.db, council) == ["CAIRO"]
    # Stale: the same buttons again change nothing.
    await secretariat.press(question, "General Conference: Session")
    await secretariat.expect("not valid any more")
    assert await store.attending(bot.db, council - 1) == []


async def test_refusals_in_french_change_nothing(bot, server):
    meeting = await gc_meeting(bot)
    officer = server.user(3600, "Agent", language_code="fr")
    await bot.join(officer, "secretariat", role="secretariat")
    delegate = server.user(3601, "Délégué", language_code="fr")
    await bot.join(delegate, "RABAT")
    for command, answer in (
        ("/present", "Utilisation : /present MEMBRE"),
        ("/present ROME raison", "Aucun membre n'a le code ROME"),
        ("/present LAHORE raison", "Aucune réunion en cours"),
        ("/absent RABAT parti", "Présence non enregistrée pour Rabat"),
    ):
        await officer.send(command)
        await officer.expect(answer)
    await delegate.send("/present RABAT")
    await delegate.expect("Seul le Secrétariat général")
    await delegate.send("/checkin")
    await delegate.expect("Rabat")
    await officer.send("/present RABAT raison")
    await officer.expect("déjà enregistrée par son délégué")
    assert await actions(bot, "attendance_marked") == []
    await officer.send("/absent RABAT")
    await officer.expect("Pourquoi Rabat")
    await officer.send("Délégation rappelée")
    text = visible((await officer.expect("absent")).text)
    assert "Motif : Délégation rappelée" in text
    assert await store.attending(bot.db, meeting) == []
    [entry] = await actions(bot, "attendance_marked")
    assert json.loads(entry.details)["present"] is False


async def test_the_chair_withdraws_a_vote_opened_by_mistake(bot, server):
    meeting = await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    makkah = (await delegates(bot, server, ["MAKKAH"], start=3700, language="fr"))["MAKKAH"]
    await makkah.send("/checkin")
    await makkah.expect("La Mecque")
    await chair.send("/motion 2")
    await opened(chair)
    question = (await store.questions_of(bot.db, meeting))[-1].id
    await vote(users["AMMAN"], await users["AMMAN"].expect("Item"), "Yes")
    rabat = users["RABAT"]
    stale = await rabat.expect("Item")
    await rabat.send("/withdraw")
    await rabat.expect("Only the chair")
    await chair.send("/withdraw")
    reply, _ = await chair.expect_unordered("Withdrawn:", "withdrawn this vote")
    text = visible(reply.text)
    assert "Item 2: Report" in text and "1 of 8 members had voted" in text
    told = await makkah.expect_unordered("Point", "retiré ce vote")
    assert "Rien n'est décompté" in visible(told[1].text)
    await rabat.expect("withdrawn this vote")
    answer = await (await rabat.press(stale, "Yes")).answer()
    assert answer.show_alert and "withdrawn this vote" in answer.text
    await chair.send("/announce")
    await chair.expect("No vote has been closed yet")
    await rabat.send(f"/results {question}")
    assert "nothing was counted" in visible((await rabat.expect("Withdrawn by the chair")).text)
    await chair.send("/withdraw")
    await chair.expect("nothing to withdraw")
    await chair.send("/close")
    await chair.expect("No vote is open")
    [entry] = await actions(bot, "vote_withdrawn")
    assert json.loads(entry.details) == {"question": question, "roll": 8, "voted": 1}
    code, out, _ = await cli(
        bot, "export", "results", "--meeting", str(meeting), "--format", "json"
    )
    [exported] = json.loads(out)["questions"]
    assert exported["outcome"] == "withdrawn" and exported["id"] == question
    assert exported["tally"] == {"yes": 0, "no": 0, "abstain": 0} and exported["votes"] == []
    assert await store.open_votes(bot.db, question) == {"AMMAN": "y"}  # kept, never counted
    await makkah.send("/agenda")
    assert "retirée par le président de séance" in visible((await makkah.expect("Rapport")).text)
    await chair.send("/motion 2")
    await opened(chair)


async def test_remind_now_and_the_live_turnout_brought_back(bot, server):
    meeting = await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    makkah = (await delegates(bot, server, ["MAKKAH"], start=3800, language="ar"))["MAKKAH"]
    await makkah.send("/checkin")
    await makkah.expect("مكة المكرمة")
    await chair.send("/remind")
    await chair.expect("No vote is open")
    await chair.send("/motion 1")
    ballot, _ = await opened(chair)
    question = (await store.questions_of(bot.db, meeting))[-1].id
    await vote(chair, ballot, "Yes")
    amman = users["AMMAN"]
    await vote(amman, await amman.expect("Item"), "No")
    await amman.send("/remind")
    await amman.expect("Only the chair")
    await chair.send("/remind")
    text = visible((await chair.expect("A reminder is being sent")).text)
    assert "of 6 members that have not voted" in text and "Amman" not in text
    assert "Makkah Al-Mukarramah" in text
    rabat = users["RABAT"]
    rabat_ballot = await rabat.expect("Item")
    reminder = visible((await rabat.expect("has not voted yet")).text)
    assert "Item 1: Budget" in reminder and "/vote" in reminder
    await makkah.expect("البند")
    assert "لم يصوّت العضو الذي تمثلونه" in visible((await makkah.expect("⏰")).text)
    await amman.expect_nothing(0.3)
    [entry] = await actions(bot, "vote_reminder")
    details = json.loads(entry.details)
    assert details["question"] == question and details["automatic"] is False
    assert "AMMAN" not in details["members"] and "RABAT" in details["members"]
    # The chair lost the turnout message in the scroll: /turnout brings it back, live.
    await chair.send("/turnout")
    live = await chair.expect("Turnout, question")
    assert "2 of 8 members on the roll have voted" in visible(live.text)
    await vote(rabat, rabat_ballot, "Yes")
    await live.wait_for("3 of 8 members on the roll have voted")


async def test_a_deadline_reminds_then_tells_the_chair_across_a_restart(bot, server):
    await bot.restart(reminder_minutes=4 / 60)
    meeting = await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    makkah = (await delegates(bot, server, ["MAKKAH"], start=3900, language="fr"))["MAKKAH"]
    await makkah.send("/checkin")
    await makkah.expect("La Mecque")
    for bad in ("/motion 1 0", "/motion 1 secret -5", "/motion 1 2000"):
        await chair.send(bad)
        await chair.expect("deadline")
    assert await store.questions_of(bot.db, meeting) == []
    await chair.send("/motion 1 0.2")  # a deadline in 12 seconds, the reminder 4 before it
    ballot, turnout = await opened(chair)
    assert "Deadline" in visible(turnout.text) or "deadline" in visible(turnout.text)
    question = (await store.questions_of(bot.db, meeting))[-1].id
    await vote(chair, ballot, "Yes")
    amman = users["AMMAN"]
    await vote(amman, await amman.expect("Item"), "No")
    await bot.stop()
    assert [e.action for e in await actions_on_disk(bot)].count("vote_reminder") == 0
    await bot.start()
    rabat = users["RABAT"]
    await rabat.expect("Item")
    reminder = visible((await rabat.expect("has not voted yet", timeout=30)).text)
    assert "Item 1: Budget" in reminder and "deadline at" in reminder
    await makkah.expect("Point")
    assert "n'a pas encore voté" in visible((await makkah.expect("⏰", timeout=30)).text)
    told = visible((await chair.expect("The deadline has passed", timeout=30)).text)
    assert "2 of 8 members on the roll have voted" in told and "/close" in told
    await amman.expect_nothing(0.3)
    assert (await store.get_question(bot.db, question)).closed_at is None  # never by itself
    entries = {e.action: json.loads(e.details) for e in await audit.entries(bot.db)}
    assert entries["vote_reminder"]["automatic"] is True
    assert "RABAT" in entries["vote_reminder"]["members"]
    assert entries["vote_deadline_reached"] == {"question": question, "voted": 2, "roll": 8}
    assert entries["vote_deadline_set"]["question"] == question
    await chair.send("/close")
    await chair.expect("Roll")


async def actions_on_disk(bot):
    from bot.store import Database

    db = await Database(bot.settings.database_path).open()
    try:
        return await audit.entries(db)
    finally:
        await db.close()


async def test_an_election_round_with_a_deadline_then_withdrawn(bot, server):
    from bot.store import elections as store_elections
    from bot.store.elections import CandidateEntry
    from tests.e2e.test_elections import session

    meeting, chair, users = await session(bot, server)
    election = await store_elections.create_election(
        bot.db,
        meeting,
        "council",
        "Council",
        2,
        [CandidateEntry(c, None) for c in ("CAIRO", "AMMAN", "DAKAR")],
        actor="t",
    )
    await chair.send(f"/election {election} -1")
    await chair.expect("The deadline must be a number of minutes")
    await chair.send(f"/election {election} 0.05")  # shorter than the reminder's lead
    _, turnout = await opened(chair)
    assert "Deadline" in visible(turnout.text)
    told = visible((await chair.expect("The deadline has passed", timeout=30)).text)
    assert "0 of 9 members on the roll have voted" in told
    entries = [e.action for e in await audit.entries(bot.db)]
    assert "vote_deadline_reached" in entries and "vote_reminder" not in entries
    await chair.send("/withdraw")
    await chair.expect_unordered("Withdrawn:", "withdrawn this vote")
    code, out, _ = await cli(
        bot, "export", "results", "--meeting", str(meeting), "--format", "json"
    )
    [exported] = json.loads(out)["questions"]
    assert exported["outcome"] == "withdrawn" and exported["kind"] == "council_election"
    assert exported["tally"] == {"CAIRO": 0, "AMMAN": 0, "DAKAR": 0}
