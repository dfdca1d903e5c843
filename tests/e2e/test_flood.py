"""Floods and late presses: Telegram's 429s are never reported to a user, the per-user
slowdown drops the excess before anything is sent, and a press that came too late to be
answered is still acted on."""

from __future__ import annotations

import logging

from tests.e2e.test_meetings import SIX, gc_meeting, in_session, opened

APOLOGY = "Something went wrong"


def sent_to(server, user) -> list:
    return [
        call
        for call in server.requests
        if call.method in ("sendMessage", "answerCallbackQuery", "editMessageText")
        and call.params.get("chat_id", call.params.get("callback_query_id", "")) != ""
        and (
            call.params.get("chat_id") == str(user.id)
            or call.params.get("callback_query_id") in {p.query_id for p in user._presses}
        )
    ]


async def test_a_reply_lost_to_flood_control_is_not_reported(bot, server, caplog):
    dana = server.user(1701, "Dana", language_code="en")
    await bot.join(dana, "CAIRO")
    # More 429s in a row than the rate limiter retries: the reply to /help is lost.
    server.fail_next("sendMessage", count=6, error_code=429, retry_after=1)
    caplog.set_level(logging.WARNING)
    await dana.send("/help")
    await server.wait_idle(timeout=30)
    await dana.expect_nothing(0.3)
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)
    await dana.send("/help")  # the bot is fine afterwards
    await dana.expect("What you can do")
    assert not any(APOLOGY in m.text for m in dana.inbox)


async def test_the_slowdown_drops_the_excess_before_any_reply(bot, server):
    await bot.restart(user_commands_per_minute=5)
    fast = server.user(1702, "Fast", language_code="en")
    for _ in range(30):
        await fast.send("/help")
    answers = await fast.expect_many(6)
    assert sum("What you can do" in m.text or "not registered" in m.text for m in answers) == 5
    assert sum("too quickly" in m.text for m in answers) == 1
    await server.wait_idle()
    # Nothing else was even attempted: 5 answers and one notice.
    assert len(sent_to(server, fast)) == 6
    # Forged presses are counted with the commands: dropped unanswered, no second notice.
    for n in range(30):
        await fast.press_data(None, f"lang:x{n % 10}")
    await server.wait_idle()
    assert len(sent_to(server, fast)) == 6
    assert server.answers(fast.id) == []
    await fast.expect_nothing(0.2)


async def test_ballot_presses_are_limited_apart_and_generously(bot, server):
    await bot.restart(user_commands_per_minute=5)
    await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)  # the chair's first 3 commands
    await chair.send("/motion 1")
    ballot, _ = await opened(chair)
    await chair.send("/quorum")
    await chair.expect("Quorate")
    await chair.send("/quorum")  # the sixth command of the minute
    await chair.expect("too quickly")
    # The ballot still takes its presses: they are counted apart.
    await chair.press(ballot, "Yes")
    confirm = await ballot.wait_for(lambda m: "Confirm" in m.button_texts)
    await chair.press(confirm, "Cancel")
    await ballot.wait_for(lambda m: "Yes" in m.button_texts)
    # Past five times the limit, presses are dropped as well (forged ones here).
    for _ in range(40):
        await chair.press_data(None, "v:1:z")
    await server.wait_idle()
    answered = [a for a in server.answers(chair.id) if a.data == "v:1:z"]
    assert len(answered) == 5 * 5 - 2  # 25 ballot presses a minute, two already used
    assert sum("too quickly" in m.text for m in chair.inbox) == 1  # told once, no more
    assert not any("too quickly" in (a.text or "") for a in server.answers(chair.id))


async def test_a_press_too_old_to_answer_is_still_acted_on(bot, server, caplog):
    await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    await chair.send("/motion 1")
    ballot, _ = await opened(chair)
    amman = users[SIX[0]]
    own = await amman.expect("Item")
    await bot.stop()
    await amman.press(own, "Yes")  # pressed while the bot is down...
    now = server.clock
    server.clock = lambda: now() + server.callback_timeout + 1  # ...and answered too late
    server.expect_rejections(400, "query is too old")
    caplog.set_level(logging.INFO)
    caplog.clear()  # what stopping the bot logged is not this test's concern
    await bot.start()
    confirm = await own.wait_for(lambda m: "Confirm" in m.button_texts)
    await amman.press(confirm, "Confirm")
    await own.wait_for(lambda m: "voted" in m.text)
    await server.wait_idle()
    assert not any(APOLOGY in m.text for m in amman.inbox)
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)
    assert any("too late" in r.getMessage() for r in caplog.records)
