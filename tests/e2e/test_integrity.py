"""People acting at the same moment, through the real bot: each action is one decision.

A vote acknowledged is counted and its receipt published; one that arrives after the
close is refused. Two quorum calls, two announcements are one. A button of one kind of
ballot pressed on another kind of question changes nothing.
"""

from __future__ import annotations

import random
from datetime import timedelta
from types import SimpleNamespace

from bot import clock
from bot.botapi.server import visible
from bot.store import elections as store_elections
from bot.store import meetings as store
from bot.store.elections import CandidateEntry
from bot.store.meetings import AgendaItem
from tests.e2e.test_meetings import SIX, chair_of, delegates, in_session, opened, vote

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
    """Consume the user's messages up to the first containing ``text``."""
    while text not in visible((await user.expect(timeout=10)).text):
        pass


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
