"""People acting at the same moment, through the real bot: each action is one decision.

A vote acknowledged is counted and its receipt published; one that arrives after the
close is refused. Two quorum calls, two announcements are one. A button of one kind of
ballot pressed on another kind of question changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
from datetime import timedelta
from types import SimpleNamespace

from bot import clock
from bot.botapi.server import visible
from bot.store import Database
from bot.store import elections as store_elections
from bot.store import meetings as store
from bot.store.elections import CandidateEntry
from bot.store.meetings import AgendaItem
from tests.consistency import check_closed_votes
from tests.e2e.conftest import make_settings, start_bot
from tests.e2e.test_crash import register
from tests.e2e.test_meetings import SIX, chair_of, delegates, in_session, opened, vote
from tests.e2e.test_operations import bot_env, exported, oicc

AGENDA = [AgendaItem(str(n), f"Item {n}", f"Point {n}", f"البند {n}") for n in range(1, 10)]


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


def rejected_calls(server):
    """Calls about votes that Telegram refused (an edit that changes nothing, above all)."""
    return [
        f"{c.method} {c.status} {c.description}"
        for c in server.requests
        if c.status != 200 and c.method.lower() in ("editmessagetext", "answercallbackquery")
    ]


async def test_close_while_confirmations_arrive(bot, server):
    meeting = await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    rng = random.Random(7)
    for item in range(1, 5):
        await chair.send(f"/motion {item} secret")
        await opened(chair)
        ballots = {code: await user.expect("Item") for code, user in users.items()}
        for code, user in users.items():
            await user.press(ballots[code], rng.choice(["Yes", "No", "Abstain"]))
        for ballot in ballots.values():
            await ballot.wait_for(lambda m: "Confirm" in m.button_texts)
        order = list(users)
        rng.shuffle(order)
        at = rng.randrange(len(order) + 1)
        presses = {}
        for n, code in enumerate(order):
            if n == at:
                await chair.send("/close")
            presses[code] = await users[code].press(ballots[code], "Confirm")
        if at == len(order):
            await chair.send("/close")
        answers = {code: (await press).text for code, press in presses.items()}
        result_message = await chair.expect("Roll")
        question = (await store.questions_of(bot.db, meeting))[-1]
        result = question.result
        recorded = [c for c, a in answers.items() if a == "Your vote is recorded."]
        refused = [c for c, a in answers.items() if a == "This vote is closed."]
        assert sorted(recorded + refused) == sorted(users), answers
        assert result["voted"] == sorted(recorded)
        assert sum(result["tally"].values()) == len(recorded)
        for code in recorded:
            shown = await ballots[code].wait_for("receipt")
            receipt = visible(shown.text).split("receipt:")[1].split(".")[0].strip()
            assert receipt in result["receipts"]
            assert receipt in visible(result_message.text)
        for code in refused:
            assert "receipt" not in visible(ballots[code].text)
        await server.wait_idle()
        chair.skip()
    assert not rejected_calls(server), rejected_calls(server)


async def test_the_turnout_message_is_never_edited_to_the_same_text(bot, server):
    await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    await chair.send("/motion 1")
    _, turnout = await opened(chair)
    amman = users["AMMAN"]
    await vote(amman, await amman.expect("Item"), "Yes")
    await turnout.wait_for("1 of 7")
    await chair.send("/close")
    await chair.expect("Roll")
    await turnout.wait_for("The vote is closed")
    await server.wait_idle()
    edits = [c for c in server.requests if c.method.lower() == "editmessagetext"]
    assert edits and not rejected_calls(server), rejected_calls(server)
    # After a restart the stored text still says what the message shows: nothing is sent.
    await bot.restart()
    from handlers.votes import update_turnout

    app = bot.application
    context = SimpleNamespace(application=app, bot_data=app.bot_data, bot=app.bot)
    question = (await store.questions_of(bot.db, 1))[-1]
    before = len(server.requests)
    await update_turnout(context, question.id)
    assert len(server.requests) == before


async def until(user, text):
    """Consume the user's messages up to the first containing ``text``; returns it."""
    while True:
        message = await user.expect(timeout=10)
        if text in visible(message.text):
            return message


async def test_two_quorum_calls_at_once_postpone_once(bot, server, secretariat):
    await gc_meeting(bot)
    chair = await chair_of(bot, server)
    users = await delegates(bot, server, SIX[:3])
    await chair.send("/checkin")
    await chair.expect("checked in")
    await chair.send("/call_quorum")
    await secretariat.send("/call_quorum")

    def answer(message):
        return not visible(message.text).startswith("⏳")  # not the notice to the body

    replies = [visible((await secretariat.expect()).text)]
    replies.append(visible((await chair.expect(predicate=answer)).text))
    assert sum("being told" in r for r in replies) == 1, replies
    assert sum("reconvenes by itself" in r for r in replies) == 1, replies
    for user in [chair, *users.values()]:
        await until(user, "has reconvened")
    await server.wait_idle()
    for user in [chair, *users.values()]:
        texts = [visible(m.text) for m in user.inbox]
        assert sum(t.startswith("⏳") for t in texts) == 1, texts
        assert sum("has reconvened" in t for t in texts) == 1, texts
    jobs = bot.application.job_queue.get_jobs_by_name("reconvene:1")
    assert not jobs  # it ran once, and nothing is left to run again


async def test_two_announcements_at_once_are_sent_once(bot, server, secretariat):
    await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    await chair.send("/motion 1")
    ballot, _ = await opened(chair)
    await vote(chair, ballot, "Yes")
    await chair.send("/close")
    await chair.expect("Roll")
    await chair.send("/announce")
    await secretariat.send("/announce")
    answers = [visible((await chair.expect()).text), visible((await secretariat.expect()).text)]
    assert sum("being sent" in a for a in answers) == 1, answers
    assert sum("already been announced" in a for a in answers) == 1, answers
    for user in users.values():
        await until(user, "Roll")
    await server.wait_idle()
    for user in users.values():
        results = [m for m in user.inbox if "Roll" in visible(m.text)]
        assert len(results) == 1, [visible(m.text) for m in user.inbox]


async def test_forged_buttons_of_every_kind_on_every_other_kind_of_question(bot, server):
    meeting = await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    amman = users["AMMAN"]
    election_id = await store_elections.create_election(
        bot.db,
        meeting,
        "council",
        "Council",
        2,
        [CandidateEntry("RABAT", None), CandidateEntry("DAKAR", None)],
        actor="test",
    )
    await chair.send(f"/election {election_id}")
    await opened(chair)
    election_q = (await store.questions_of(bot.db, meeting))[-1].id
    ballot = await amman.expect("round")
    for data in (f"v:{election_q}:y", f"vc:{election_q}:y", f"vc:{election_q}:n"):
        answer = await (await amman.press_data(ballot, data))
        assert answer.text == "This button is not valid.", data
    answer = await (await chair.press_data(None, f"cv:{election_q}:y"))
    assert answer.text == "This button is not valid."
    assert await store.voted(bot.db, election_q) == []
    await chair.send("/close")
    await chair.expect("round")
    await chair.expect(predicate=lambda m: m.photo_bytes is not None, timeout=30)
    await chair.send("/motion 1")
    await opened(chair)
    resolution_q = (await store.questions_of(bot.db, meeting))[-1].id
    ballot = await amman.expect("Item")
    for data in (f"et:{resolution_q}:1", f"es:{resolution_q}:3", f"ec:{resolution_q}:1"):
        answer = await (await amman.press_data(ballot, data))
        assert answer.text == "This button is not valid.", data
    for data in (f"cv:{resolution_q}:y", f"cv:{resolution_q}:0", f"cv:{resolution_q}:d"):
        answer = await (await chair.press_data(None, data))
        assert answer.text == "This button is not valid.", data
    assert await store.voted(bot.db, resolution_q) == []
    await vote(amman, ballot, "No")  # the real buttons still work
    await chair.send("/close")
    await chair.expect("Roll")
    closed = await store.get_question(bot.db, resolution_q)
    assert closed.result["tally"] == {"yes": 0, "no": 1, "abstain": 0}
    answer = await (await chair.press_data(None, f"cv:{resolution_q}:y"))
    assert answer.text == "This button is not valid."
    assert await store.get_question(bot.db, resolution_q) == closed


# --- kill -9 between opening a vote and its ballots leaving ------------------------------


async def test_kill_9_between_opening_a_vote_and_its_ballots_leaving(server, tmp_path):
    settings = make_settings(tmp_path, server)
    # One request in flight: held by the server below, it keeps every other ballot queued.
    env = bot_env(settings, LOG_LEVEL="INFO", OUTBOX_IN_FLIGHT="1")
    registry = tmp_path / "members.csv"
    registry.write_text(
        "code,name_en,name_fr,name_ar,country,region,kind,council,active\n"
        + "".join(
            f"{code},City {code[-2:]},Ville {code[-2:]},مدينة {code[-2:]},Country,arab,"
            f"capital,none,true\n"
            for code in CRASH_MEMBERS
        )
    )
    agenda = tmp_path / "agenda.csv"
    agenda.write_text("item,title_en,title_fr,title_ar\n1,Budget,Budget,الميزانية\n")
    assert (await oicc(env, "members", "import", str(registry)))[0] == 0
    starts = (clock.now() - timedelta(minutes=1)).isoformat()
    code, out, err = await oicc(
        env, "meeting", "create", "--body", "gc", "--kind", "ordinary", "--title", "Session",
        "--starts", starts, "--chair-member", "CITY01", "--agenda", str(agenda), "--json",
    )  # fmt: skip
    assert code == 0, err
    meeting = int(json.loads(out)["id"])
    users = await register(settings.database_path, server, 7000)
    chair, gone = users["CITY01"], users["CITY30"]
    log = tmp_path / "bot.log"
    first = await start_bot(env, log)
    second = None
    try:
        for user in users.values():
            await user.send("/checkin")
        for user in users.values():
            await user.expect("checked in", timeout=20)
        await chair.send("/call_quorum")
        await chair.expect("Quorate", timeout=20)
        gone.block()  # this delegate blocked the bot: its ballot is unreachable
        server.expect_rejections(403, "blocked")
        # The first calls after the opening hang, so the kill lands while every ballot is
        # still in the outbox (or in flight).
        server.delay_next("sendMessage", 8.0, count=2)
        await chair.send("/motion 1")
        question = await wait_for_open_question(settings.database_path)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        db = await Database(settings.database_path).open()
        try:
            roll = await store.roll_of(db, question)
            notice, rows = await ballot_rows(db, question)
            # Opened and queued in one transaction: a ballot for every roll member.
            assert sorted(m for m, _ in rows) == sorted(roll) == sorted(CRASH_MEMBERS)
            assert sum(s in ("pending", "sending") for _, s in rows) >= len(rows) - 1
        finally:
            await db.close()
        second = await start_bot(env, log)
        db = await Database(settings.database_path).open()
        try:
            states = await wait_for_rows_done(db, question)
        finally:
            await db.close()
        assert states[gone.id] == "unreachable"
        assert set(states.values()) <= {"delivered", "unreachable", "lost"}
        lost = [u for u in users.values() if states[u.id] == "lost"]
        delivered = [u for u in users.values() if states[u.id] == "delivered"]
        assert len(lost) <= 1 and delivered
        # /vote sends a delegate its ballot again: whoever lost it, and anyone asking.
        again = [*lost, delivered[-1]]
        for user in again:
            user.skip()
            await user.send("/vote")
            ballot = await user.expect("Item", timeout=20)
            await vote(user, ballot, "Yes")
            await user.send("/vote")
            await user.expect("No ballot is waiting", timeout=20)
        await chair.send("/close")
        await until(chair, "Roll")
        results = await exported(env, "results", meeting)
        code, out, err = await oicc(env, "notice", "status", str(notice), "--json")
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 15)
    (closed,) = results["questions"]
    assert closed["roll"] == len(CRASH_MEMBERS)
    assert sorted(v["member"] for v in closed["votes"]) == sorted(
        {next(c for c, u in users.items() if u is user) for user in again}
    )
    status = json.loads(out)
    assert status["lost"] == len(lost) and status["unreachable"] == 1
    assert status["delivered"] + status["unreachable"] + status["lost"] == status["recipients"]
    check_closed_votes(settings.database_path)


CRASH_MEMBERS = [f"CITY{n:02}" for n in range(1, 31)]


async def wait_for_open_question(path: str) -> int:
    db = await Database(path).open()
    try:
        for _ in range(400):
            row = await db.one("SELECT id FROM questions WHERE closed_at IS NULL")
            if row is not None:
                return int(row[0])
            await asyncio.sleep(0.02)
        raise AssertionError("the vote was never opened")
    finally:
        await db.close()


async def ballot_rows(db: Database, question: int) -> tuple[int, list[tuple[str, str]]]:
    """The ballots' notice, and (member, state) of each of its rows."""
    rows = await db.all(
        "SELECT o.member, o.state, o.notice FROM outbox o JOIN notices n ON n.id = o.notice"
        " WHERE n.ref = ? ORDER BY o.id",
        (f"q:{question}",),
    )
    assert rows, "no ballot queued"
    return int(rows[0][2]), [(str(r[0]), str(r[1])) for r in rows]


async def wait_for_rows_done(db: Database, question: int) -> dict[int, str]:
    for _ in range(600):
        rows = await db.all(
            "SELECT o.telegram_id, o.state FROM outbox o JOIN notices n ON n.id = o.notice"
            " WHERE n.ref = ?",
            (f"q:{question}",),
        )
        states = {int(r[0]): str(r[1]) for r in rows}
        if not set(states.values()) & {"pending", "sending"}:
            return states
        await asyncio.sleep(0.05)
    raise AssertionError(f"ballots still waiting: {states}")


# --- the casting vote from two chair delegates, an election round opened twice -------------


async def test_two_chair_delegates_casting_at_once_give_one_casting_vote(bot, server):
    meeting = await gc_meeting(bot)
    chair, users = await in_session(bot, server, [*SIX, "ISTANBUL"])
    second_chair = await chair_of(bot, server, "CAIRO", user_id=1901)
    await chair.send("/motion 1 secret")
    ballot, _ = await opened(chair)
    await vote(chair, ballot, "Yes")
    for n, user in enumerate(users.values()):
        await vote(user, await user.expect("Item"), "Yes" if n < 3 else "No")
    await chair.send("/close")
    await until(chair, "Roll")
    prompts = {who.id: await until(who, "is tied") for who in (chair, second_chair)}
    presses = [
        await chair.press(prompts[chair.id], "Yes"),
        await second_chair.press(prompts[second_chair.id], "No"),
    ]
    given = "The casting vote has already been given."
    answers = [(await press).text for press in presses]
    assert answers.count(given) == 1, answers
    question = (await store.questions_of(bot.db, meeting))[-1]
    winner = "y" if answers[1] == given else "n"  # the chair answering Yes came first
    assert question.result["casting_vote"] == {"y": "yes", "n": "no"}[winner]
    assert question.outcome == ("adopted" if winner == "y" else "rejected")
    assert question.result["tie_broken_by_chair"] is True


async def test_an_election_round_opened_twice_at_once_is_opened_once(bot, server, secretariat):
    meeting = await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    election_id = await store_elections.create_election(
        bot.db,
        meeting,
        "single",
        "Secretary General",
        1,
        [CandidateEntry("AA", "Ahmad"), CandidateEntry("BB", "Badr")],
        actor="test",
    )
    await chair.send(f"/election {election_id}")
    await secretariat.send(f"/election {election_id}")
    answer = visible((await secretariat.expect()).text)
    chair_texts = [visible(m.text) for m in await chair.expect_many(2)]
    assert sum("Turnout" in t for t in [answer, *chair_texts]) == 1
    assert sum("already open" in t for t in [answer, *chair_texts]) == 1
    for user in users.values():
        await user.expect("round")
    await server.wait_idle()
    for user in users.values():
        assert sum("round" in visible(m.text) for m in user.inbox) == 1
    assert len(await store.questions_of(bot.db, meeting)) == 1


async def test_pressing_a_button_again_sends_no_edit_that_changes_nothing(bot, server):
    meeting = await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    election_id = await store_elections.create_election(
        bot.db,
        meeting,
        "single",
        "Secretary General",
        1,
        [CandidateEntry("AA", "Ahmad"), CandidateEntry("BB", "Badr")],
        actor="test",
    )
    await chair.send(f"/election {election_id}")
    await opened(chair)
    amman = users["AMMAN"]
    ballot = await amman.expect("round")
    await amman.press(ballot, "⬜ Ahmad")
    await ballot.wait_for(lambda m: any("☑️" in b for b in m.button_texts))
    await amman.press(ballot, "Submit")
    await ballot.wait_for("Review your ballot")
    edits = len(ballot.edits)
    # Submit again (its button is gone, but a delayed tap or a second device sends it): the
    # review already shows, so nothing is edited and nothing refused.
    submit = ballot.button("Confirm")["callback_data"].replace("ec:", "es:")
    await (await amman.press_data(ballot, submit))
    await server.wait_idle()
    assert not rejected_calls(server), rejected_calls(server)
    assert len(ballot.edits) == edits
    await amman.press(ballot, "Confirm")
    await ballot.wait_for("has voted")
    assert (await store.voted(bot.db, (await store.questions_of(bot.db, meeting))[-1].id)) == [
        "AMMAN"
    ]
