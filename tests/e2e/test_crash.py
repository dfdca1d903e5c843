"""kill -9 in the middle of a vote: the bot runs as its own process against the fake Bot API
server, is killed while thirty delegates confirm their votes, and comes back.

What must hold: every vote whose confirmation the bot acknowledged is counted, no vote is
counted twice, and the question stays open across the restart until the chair closes it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from datetime import timedelta

from bot import clock
from bot.botapi.server import FakeUser, SentMessage
from bot.store import Database
from tests.e2e.conftest import TOKEN, make_settings, start_bot
from tests.e2e.test_meetings import opened
from tests.e2e.test_operations import bot_env, exported, oicc

MEMBERS = [f"CITY{n:02}" for n in range(1, 31)]
CHOICES = {"y": "yes", "n": "no", "a": "abstain"}
RECORDED = "✅"  # the ballot, once the member's vote is recorded: "✅ City 05 voted: No."


def plan(code: str) -> str:
    return "yna"[int(code[-2:]) % 3]


async def register(path: str, server, start: int) -> dict[str, FakeUser]:
    """One delegate per member, bound in the database as an invitation would bind them; the
    delegate of CITY01 chairs."""
    db = await Database(path).open()
    try:
        async with db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO users (telegram_id, telegram_language, first_name, member, role,"
                " joined_at) VALUES (?, 'en', ?, ?, ?, ?)",
                [
                    (start + n, f"Delegate{n}", code, "chair" if n == 0 else "delegate", "2026")
                    for n, code in enumerate(MEMBERS)
                ],
            )
    finally:
        await db.close()
    return {
        code: server.user(start + n, f"Delegate{n}", language_code="en", started=True)
        for n, code in enumerate(MEMBERS)
    }


async def test_kill_9_while_votes_are_confirmed(server, tmp_path):
    settings = make_settings(tmp_path, server)
    env = bot_env(settings, LOG_LEVEL="INFO")
    registry = tmp_path / "members.csv"
    registry.write_text(
        "code,name_en,name_fr,name_ar,country,region,kind,council,active\n"
        + "".join(
            f"{code},City {code[-2:]},Ville {code[-2:]},مدينة {code[-2:]},Country,arab,"
            f"{'capital' if n % 2 else 'city'},none,true\n"
            for n, code in enumerate(MEMBERS)
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
    users = await register(settings.database_path, server, 6000)
    chair = users["CITY01"]
    log = tmp_path / "bot.log"

    first = await start_bot(env, log)
    second: asyncio.subprocess.Process | None = None
    try:
        for user in users.values():
            await user.send("/checkin")
        for user in users.values():
            await user.expect("checked in", timeout=20)
        await chair.send("/call_quorum")
        await chair.expect("Quorate")
        await chair.send("/motion 1")
        ballots: dict[str, SentMessage] = {"CITY01": (await opened(chair))[0]}
        for code, user in users.items():
            if code != "CITY01":
                ballots[code] = await user.expect("Item", timeout=20)
        question = await question_id(settings.database_path)

        acknowledged: dict[str, tuple[str, float]] = {}  # member -> (choice, when)
        killed_at: list[float] = []
        ten_acknowledged = asyncio.Event()

        async def voter(n: int, code: str) -> None:
            await asyncio.sleep(0.01 * n)
            user, ballot, choice = users[code], ballots[code], plan(code)
            for _ in range(6):  # a delegate tries again when nothing seems to happen
                try:
                    await user.press_data(ballot, f"v:{question}:{choice}")
                    await ballot.wait_for(
                        lambda m: "Confirm" in m.button_texts or RECORDED in m.text, timeout=5
                    )
                    if RECORDED in ballot.text:
                        return  # a confirmation sent before the kill was recorded
                    confirm = await user.press_data(ballot, f"vc:{question}:{choice}")
                    answer = await confirm.answer(timeout=5)
                except AssertionError:
                    # Fetched by the killed process and lost with it (polling confirms an
                    # update when it fetches the next ones): nothing seems to happen, so the
                    # delegate presses again.
                    continue
                if answer.text and "recorded" in answer.text:
                    acknowledged[code] = (choice, time.monotonic())
                    if len(acknowledged) == 10:
                        ten_acknowledged.set()
                    return
                if answer.text and "already voted" in answer.text:
                    return
            raise AssertionError(f"{code} could not vote:\n{user.transcript()}")

        async def killer() -> None:
            nonlocal second
            await ten_acknowledged.wait()
            first.send_signal(signal.SIGKILL)
            await first.wait()
            killed_at.append(time.monotonic())
            await asyncio.sleep(0.3)
            second = await start_bot(env, log)

        try:
            await asyncio.wait_for(
                asyncio.gather(killer(), *(voter(n, code) for n, code in enumerate(MEMBERS))), 40
            )
        except TimeoutError:
            raise AssertionError(
                f"the votes did not finish; acknowledged: {sorted(acknowledged)}\n"
                + log.read_text()[-3000:]
            ) from None
        assert first.returncode == -signal.SIGKILL
        before = {c for c, (_, at) in acknowledged.items() if at < killed_at[0]}
        after = set(acknowledged) - before
        assert len(before) >= 10 and after, (before, after)  # voting went on after the restart
        assert second is not None
        await chair.send("/close")
        await chair.expect("Roll", timeout=15)
        results = await exported(env, "results", meeting)
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 15)

    (voted,) = results["questions"]  # one question, open from before the kill to the close
    assert voted["id"] == question and voted["roll"] == 30
    members = [v["member"] for v in voted["votes"]]
    assert sorted(members) == sorted(set(members)) == sorted(MEMBERS)  # all, none twice
    recorded = {v["member"]: v["choice"] for v in voted["votes"]}
    for code, (choice, _) in acknowledged.items():
        assert recorded[code] == CHOICES[choice], code  # no acknowledged vote lost or changed
    assert recorded == {code: CHOICES[plan(code)] for code in MEMBERS}
    assert sum(voted["tally"].values()) == 30
    db = await Database(settings.database_path).open()
    try:
        cast = await db.one(
            "SELECT count(*) FROM audit_log WHERE action = 'vote_cast'"
            " AND json_extract(details, '$.question') = ?",
            (question,),
        )
        assert cast[0] == 30
    finally:
        await db.close()
    assert (await oicc(env, "audit", "verify"))[0] == 0
    assert TOKEN.split(":")[1] not in log.read_text()


async def question_id(path: str) -> int:
    db = await Database(path).open()
    try:
        row = await db.one("SELECT id FROM questions WHERE closed_at IS NULL")
        assert row is not None
        return int(row[0])
    finally:
        await db.close()
