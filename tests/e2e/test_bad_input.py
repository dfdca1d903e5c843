"""Bad input: text that could fabricate lines or reverse a sentence is refused at import and
never shown, and people who never joined leave nothing behind."""

from __future__ import annotations

import sqlite3

from bot.demo import MEMBERS_CSV
from tests.e2e.test_meetings import SIX, gc_meeting, in_session, opened, vote
from tests.e2e.test_startup import oicc_in, one_line_refusal

HEADER = MEMBERS_CSV.splitlines()[0]
RABAT = "RABAT,Rabat,Rabat,الرباط,Morocco,arab,capital,none,true"


def members_file(folder, *rows: str) -> str:
    path = folder / "members.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return str(path)


async def test_names_titles_and_agenda_texts_refuse_breaks_and_direction_controls(tmp_path):
    cairo = "CAIRO,Cairo,Le Caire,القاهرة,Egypt,arab,capital,elected,true"
    for row, line, reason in (
        ('TUNIS,"Tunis\n• Rabat: Yes",Tunis,تونس,Tunisia,arab,capital,none,true', 3, "line break"),
        ("TUNIS,Tunis,Tunis,تونس\u2069\u202e,Tunisia,arab,capital,none,true", 3, "U+2069"),
        ("TUNIS,Tunis\u202e,Tunis,تونس,Tunisia,arab,capital,none,true", 3, "U+202E"),
        ("TUNIS,Tu\x07nis,Tunis,تونس,Tunisia,arab,capital,none,true", 3, "control character"),
        # the line of a record is where it starts, also after a record spanning two lines
        ('TUNIS,"Tunis\nX",Tunis,تونس,Tunisia,arab,capital,none,true', 3, "name_en"),
    ):
        code, _, err = await oicc_in(
            tmp_path, "members", "import", members_file(tmp_path, cairo, row)
        )
        refusal = one_line_refusal(code, err)
        assert f"line {line}" in refusal and reason in refusal, refusal
    assert not (tmp_path / "oicc.sqlite3").exists() or not _count(tmp_path, "members")

    assert (await oicc_in(tmp_path, "members", "import", members_file(tmp_path, cairo, RABAT)))[
        0
    ] == 0
    agenda = tmp_path / "agenda.csv"
    agenda.write_text(
        "item,title_en,title_fr,title_ar\n1,Budget,Budget,الميزانية\n2,Report\u2066,Rapport,التقرير\n",
        encoding="utf-8",
    )
    create = ["meeting", "create", "--body", "gc", "--kind", "ordinary", "--starts"]
    create += ["2030-01-01T10:00", "--chair-member", "RABAT"]
    code, _, err = await oicc_in(tmp_path, *create, "--title", "Session", "--agenda", str(agenda))
    refusal = one_line_refusal(code, err)
    assert "line 3" in refusal and "title_en" in refusal and "U+2066" in refusal
    code, _, err = await oicc_in(tmp_path, *create, "--title", "Session\n• fake line")
    assert "--title contains a line break" in one_line_refusal(code, err)
    assert _count(tmp_path, "meetings") == 0


def _count(folder, table: str) -> int:
    with sqlite3.connect(folder / "oicc.sqlite3") as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


async def test_text_already_stored_is_shown_without_breaks_or_direction_controls(bot, server):
    # Names stored before imports refused such text.
    async with bot.db.transaction() as tx:
        await tx.execute(
            "UPDATE members SET name_en = ? WHERE code = 'RABAT'", ("Rabat\n• Tunis: No",)
        )
        await tx.execute(
            "UPDATE members SET name_en = ? WHERE code = 'DAKAR'", ("Dakar\u2069\u202e",)
        )
    await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    await chair.send("/motion 1")
    ballot, _ = await opened(chair)
    await vote(chair, ballot, "Yes")
    for code in ("RABAT", "DAKAR"):
        await vote(users[code], await users[code].expect("Item"), "No")
    await chair.send("/close")
    await chair.expect("Roll")
    await chair.send("/results")
    result = await chair.expect("Roll")
    lines = result.text.splitlines()
    assert not any(line.startswith("• Tunis") for line in lines), result.text
    assert any("Rabat • Tunis: No" in line for line in lines), result.text
    for message in chair.inbox:
        assert "\u202e" not in message.text
        assert message.text.count("\u2068") == message.text.count("\u2069"), message.text


async def test_strangers_leave_no_trace(bot, server):
    before = (await bot.db.one("SELECT count(*) FROM users"))[0]
    for n in range(20):
        stranger = server.user(5000 + n, f"Stranger{n}", language_code=("ar", "en", "fr")[n % 3])
        await stranger.send("/help" if n % 2 else "/language ar")
        answer = await stranger.expect()
        if n % 2 == 0:  # told how to join in the language asked for, which is not kept
            assert "الأمانة العامة" in answer.text, answer.text
    stranger = server.user(5100, "Buttons", language_code="en")
    await stranger.press_data(None, "lang:fr")
    await stranger.expect("Secrétariat général")
    assert (await bot.db.one("SELECT count(*) FROM users"))[0] == before


HUGE = "9" * 30


async def test_huge_numbers_are_no_such_thing(bot, server, secretariat):
    await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    amman = users["AMMAN"]
    await amman.send(f"/results {HUGE}")
    await amman.expect("There is no closed vote")
    await amman.send(f"/approve_session {HUGE}")
    await amman.expect("There is no request")
    await amman.send("/results ²")  # a digit that is no number
    await amman.expect("There is no closed vote")
    await chair.send(f"/election {HUGE}")
    await chair.expect("There is no election")
    for data in (
        f"v:{HUGE}:y",
        f"vc:{HUGE}:y",
        f"cv:{HUGE}:y",
        f"et:{HUGE}:1",
        f"m:checkin:{HUGE}",
    ):
        await amman.press_data(None, data)
        await amman.last_answer()  # answered: not valid, or not current any more
    await amman.expect("not valid any more")  # the meeting picker says so in the chat
    await amman.send("/language fr")
    await amman.expect("français")
    await amman.send(f"/results {HUGE}")
    await amman.expect("Aucun vote clos")
    await amman.expect_nothing(0.2)
    assert not any("went wrong" in m.text or "Une erreur" in m.text for m in amman.inbox)


async def test_huge_numbers_on_the_command_line(tmp_path):
    assert (await oicc_in(tmp_path, "demo"))[0] == 0
    for args in (
        ("meeting", "close", HUGE),
        ("export", "results", "--meeting", HUGE),
        ("forget", HUGE),
        ("notice", "status", HUGE),
        ("delegates", "unbind", HUGE),
        ("forget", "²"),
    ):
        code, _, err = await oicc_in(tmp_path, *args)
        one_line_refusal(code, err)


async def test_request_texts_refuse_direction_controls(bot, server):
    cairo = server.user(5200, "Cairo", language_code="en")
    await bot.join(cairo, "CAIRO")
    await cairo.send("/request_session gc Budget \u202ereview")
    await cairo.expect("may not contain control characters")
    await cairo.send("/request_session gc Budget\x07review")
    await cairo.expect("may not contain control characters")
    assert (await bot.db.one("SELECT count(*) FROM session_requests"))[0] == 0
    await cairo.send("/request_session gc Budget review")
    await cairo.expect("Request")
