"""Council and single-winner elections by secret ballot (R10, R11, R12), end to end."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

from bot import clock
from bot.botapi.server import visible
from bot.store import elections as store_elections
from bot.store import meetings as store
from bot.store.elections import CandidateEntry
from tests.e2e.test_meetings import AGENDA, chair_of, check_in, delegates, opened

VOTERS = ["MAKKAH", "MADINAH", "QUDS", "AMMAN", "DAKAR", "ABUJA", "KANO", "ISLAMABAD"]


async def session(bot, server):
    """A General Conference hosted by Rabat, in session with 9 voting members."""
    meeting = await store.create_meeting(
        bot.db,
        "gc",
        "ordinary",
        "Elections",
        clock.now() - timedelta(minutes=1),
        "Asia/Riyadh",
        "RABAT",
        AGENDA,
        actor="test",
    )
    chair = await chair_of(bot, server, "RABAT")
    users = await delegates(bot, server, VOTERS, start=3000)
    await chair.send("/checkin")
    await chair.expect("checked in")
    await check_in(users)
    await chair.send("/call_quorum")
    await chair.expect("Quorate")
    return meeting, chair, {"RABAT": chair, **users}


async def ballot_vote(user, ballot, names):
    """Toggle the named candidates, Submit, Confirm; returns the receipt."""
    for name in names:
        await user.press(ballot, next(b for b in ballot.button_texts if name in b))
        await ballot.wait_for(
            predicate=lambda m, n=name: any(n in b and "☑️" in b for b in m.button_texts)
        )
    await user.press(ballot, "Submit")
    await ballot.wait_for("Review your ballot")
    await user.press(ballot, "Confirm")
    await ballot.wait_for("has voted")
    return visible(ballot.text).split("receipt:")[1].split(".")[0].strip()


async def run_round(bot, chair, users, election_id, plan):
    """Open the election's next round, vote per plan {member: [names]}, close it."""
    await chair.send(f"/election {election_id}")
    chair_ballot, _ = await opened(chair)
    receipts = []
    for code, names in plan.items():
        user = users[code]
        ballot = chair_ballot if code == "RABAT" else await user.expect("round")
        receipts.append(await ballot_vote(user, ballot, names))
    for code, user in users.items():
        if code not in plan and code != "RABAT":
            await user.expect("round")  # their ballot arrived; they stay silent
    await chair.send("/close")
    text = visible((await chair.expect("round")).text)
    chart = await chair.expect(predicate=lambda m: m.photo_bytes is not None)
    assert chart.photo_bytes.startswith(b"\x89PNG")
    for receipt in receipts:
        assert receipt in text
    return text


async def test_council_seats_each_tie_break_in_turn(bot, server):
    meeting, chair, users = await session(bot, server)

    async def election(title, codes):
        return await store_elections.create_election(
            bot.db,
            meeting,
            "council",
            title,
            2,
            [CandidateEntry(c, None) for c in codes],
            actor="t",
        )

    # capital before city: Kano (city) and Abuja (capital) tie for the last seat
    first = await election("Council A", ["CAIRO", "KANO", "ABUJA"])
    text = await run_round(
        bot,
        chair,
        users,
        first,
        {
            "MAKKAH": ["Cairo"],
            "MADINAH": ["Cairo"],
            "QUDS": ["Cairo"],
            "AMMAN": ["Kano"],
            "DAKAR": ["Kano"],
            "ABUJA": ["Abuja"],
            "KANO": ["Abuja"],
        },
    )
    assert "Elected: Cairo, Abuja" in text and "a capital comes before a city" in text
    # regional spread: Amman and Dakar, both capitals; Cairo (Arab) is already elected
    second = await election("Council B", ["CAIRO", "AMMAN", "DAKAR"])
    text = await run_round(
        bot,
        chair,
        users,
        second,
        {
            "MAKKAH": ["Cairo"],
            "MADINAH": ["Cairo"],
            "QUDS": ["Cairo"],
            "AMMAN": ["Amman"],
            "DAKAR": ["Dakar"],
            "ABUJA": ["Dakar"],
            "KANO": ["Amman"],
        },
    )
    assert "Elected: Cairo, Dakar" in text and "regional spread" in text
    assert "African 1, Arab 1, Asian 0" in text
    # still equal: two African capitals go to a run-off for the last seat
    third = await election("Council C", ["CAIRO", "ABUJA", "DAKAR"])
    text = await run_round(
        bot,
        chair,
        users,
        third,
        {
            "MAKKAH": ["Cairo", "Abuja"],
            "MADINAH": ["Cairo", "Dakar"],
            "QUDS": ["Cairo"],
            "AMMAN": ["Abuja"],
            "DAKAR": ["Dakar"],
        },
    )
    assert "run-off among Abuja, Dakar" in text
    text = await run_round(
        bot, chair, users, third, {"MAKKAH": ["Abuja"], "MADINAH": ["Abuja"], "QUDS": ["Dakar"]}
    )
    assert "Elected: Abuja" in text and "round 2" in text
    questions = [q for q in await store.questions_of(bot.db, meeting) if q.election == third]
    assert [q.result["outcome"] for q in questions] == ["runoff", "elected"]
    assert questions[0].result["elected"] == ["CAIRO"] and questions[0].result["runoff"] == [
        "ABUJA",
        "DAKAR",
    ]
    assert questions[1].candidates == ("ABUJA", "DAKAR") and questions[1].seats == 1
    assert questions[0].result["tally"] == {"CAIRO": 3, "ABUJA": 2, "DAKAR": 2}


async def test_more_choices_than_seats_refused(bot, server):
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
    await chair.send(f"/election {election}")
    await opened(chair)
    amman = users["AMMAN"]
    ballot = await amman.expect("Choose up to 2 candidates")
    for name in ("Cairo", "Amman"):
        await amman.press(ballot, next(b for b in ballot.button_texts if name in b))
        await ballot.wait_for(
            predicate=lambda m, n=name: any(n in b and "☑️" in b for b in m.button_texts)
        )
    await amman.press(ballot, next(b for b in ballot.button_texts if "Dakar" in b))
    assert "at most 2" in visible((await amman.last_answer()).text)
    assert not any("Dakar" in b and "☑️" in b for b in ballot.button_texts)
    # a forged mask naming a fourth candidate is refused too
    question = (await store.questions_of(bot.db, meeting))[-1].id
    await amman.press_data(ballot, f"ec:{question}:f")
    assert "not valid" in visible((await amman.last_answer()).text)
    assert await store.voted(bot.db, question) == []


async def test_single_winner_two_rounds_and_casting_vote(bot, server, tmp_path):
    meeting, chair, users = await session(bot, server)
    election = await store_elections.create_election(
        bot.db,
        meeting,
        "single",
        "Secretary General",
        1,
        [
            CandidateEntry("A", "Ahmed Ali"),
            CandidateEntry("B", "بشرى النجار"),
            CandidateEntry("C", "Chen Wei"),
        ],
        actor="t",
    )
    # roll 9, majority 5: nobody has it
    text = await run_round(
        bot,
        chair,
        users,
        election,
        {
            "MAKKAH": ["Ahmed"],
            "MADINAH": ["Ahmed"],
            "QUDS": ["Ahmed"],
            "AMMAN": ["Ahmed"],
            "DAKAR": ["بشرى"],
            "ABUJA": ["بشرى"],
            "KANO": ["بشرى"],
            "ISLAMABAD": ["Chen"],
        },
    )
    assert "run-off among Ahmed Ali, بشرى النجار" in text
    # round 2 ties 4-4: the chair is asked for the casting vote after the count
    text = await run_round(
        bot,
        chair,
        users,
        election,
        {
            "MAKKAH": ["Ahmed"],
            "MADINAH": ["Ahmed"],
            "QUDS": ["Ahmed"],
            "AMMAN": ["Ahmed"],
            "DAKAR": ["بشرى"],
            "ABUJA": ["بشرى"],
            "KANO": ["بشرى"],
            "RABAT": ["بشرى"],
        },
    )
    assert "waiting for the chair's casting vote" in text
    ask = await chair.expect("casting vote decides")
    assert "round 2" in visible(ask.text)
    assert ask.button_texts == ["Ahmed Ali", "بشرى النجار", "Decline"]
    await chair.press(ask, "بشرى النجار")
    await ask.wait_for("Elected: بشرى النجار")
    assert "chair's casting vote decided it" in visible(ask.text)
    rounds = [q for q in await store.questions_of(bot.db, meeting) if q.election == election]
    final = rounds[-1].result
    assert (
        final["outcome"] == "elected" and final["elected"] == ["B"] and final["tie_broken_by_chair"]
    )
    assert final["round"] == 2 and final["kind"] == "single_election"
    # nothing stored links a ballot to a member, a delegate or a time
    with sqlite3.connect(bot.settings.database_path) as conn:
        assert [r[1] for r in conn.execute("PRAGMA table_info(ballots)")] == [
            "question",
            "receipt",
            "choice",
        ]
        assert (
            conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'ballots' AND sql LIKE '%WITHOUT ROWID%'"
            ).fetchone()[0]
            == 1
        )
        rows = conn.execute(
            "SELECT receipt, choice FROM ballots WHERE question = ?", (rounds[-1].id,)
        ).fetchall()
        assert [r[0] for r in rows] == sorted(r[0] for r in rows)  # stored in receipt order
        assert sorted(json.loads(r[1]) for r in rows) == [["A"]] * 4 + [["B"]] * 4
        assert "choice" not in [r[1] for r in conn.execute("PRAGMA table_info(participation)")]
    # the export for the minutes: both rounds, receipts, and nothing linking a ballot to a member
    exported = await export(bot, "results", meeting)
    rounds_out = [q for q in exported["questions"] if q.get("election") == election]
    assert [q["round"] for q in rounds_out] == [1, 2]
    assert [q["outcome"] for q in rounds_out] == ["runoff", "elected"]
    assert rounds_out[0]["runoff"] == ["A", "B"] and rounds_out[0]["tally"] == {
        "A": 4,
        "B": 3,
        "C": 1,
    }
    assert all(
        q["secret"] is True and q["votes"] == [] and isinstance(q["roll"], int) for q in rounds_out
    )
    assert len(rounds_out[1]["receipts"]) == 8 and rounds_out[1]["tie_broken_by_chair"] is True
    dump = json.dumps(exported)
    assert all(code not in dump for code in ("MAKKAH", "MADINAH", "KANO")), (
        "no member next to a ballot"
    )
    # the chair of the meeting is the only one who could answer
    await users["AMMAN"].press_data(None, f"cv:{rounds[-1].id}:0")
    assert "Only" in visible((await users["AMMAN"].last_answer()).text)


async def test_ineligible_candidates_refused(bot, server, monkeypatch, capsys):
    from bot.__main__ import main

    meeting = await store.create_meeting(
        bot.db, "gc", "ordinary", "E", clock.now(), "Asia/Riyadh", "RABAT", AGENDA, actor="t"
    )
    monkeypatch.setenv("DATABASE_PATH", bot.settings.database_path)
    for candidates, reason in (
        ("CAIRO,TUNIS", "unpaid"),
        ("MAKKAH", "permanent"),
        ("LAHORE", "inactive"),
    ):
        code = await _run(
            main,
            [
                "election",
                "create",
                "--meeting",
                str(meeting),
                "--type",
                "council",
                "--title",
                "C",
                "--seats",
                "2",
                "--candidates",
                candidates,
            ],
        )
        assert code == 2
        assert reason in capsys.readouterr().err
    code = await _run(
        main,
        [
            "election",
            "create",
            "--meeting",
            str(meeting),
            "--type",
            "council",
            "--title",
            "C",
            "--seats",
            "24",
            "--candidates",
            "CAIRO",
        ],
    )
    assert code == 2


async def _run(main, argv):
    import asyncio

    return await asyncio.to_thread(main, argv)


async def export(bot, what, meeting):
    """``oicc-bot export WHAT --meeting ID --format json`` on the bot's database."""
    import asyncio
    import os
    import sys

    env = {**os.environ, "DATABASE_PATH": bot.settings.database_path}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "export",
        what,
        "--meeting",
        str(meeting),
        "--format",
        "json",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return json.loads(out)
