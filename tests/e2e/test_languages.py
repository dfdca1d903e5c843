"""What delegates read in Arabic and in French, as the bot sends it."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from bot import clock
from bot.app import services
from bot.botapi.server import visible
from bot.store import elections as store_elections
from bot.store import meetings as store
from bot.store.elections import CandidateEntry
from handlers.meetings import announce_convened
from tests.e2e.test_meetings import AGENDA

RLM = "\u200f"


async def test_arabic_help_lines_read_right_to_left_and_usage_is_arabic(bot, server, secretariat):
    omar = server.user(4001, "Omar", language_code="ar")
    await bot.join(omar, "AMMAN")
    await omar.send("/help")
    lines = (await omar.expect("ما يمكنكم القيام به")).text.splitlines()
    commands = [line for line in lines[1:] if line.strip()]
    assert commands and all(line.startswith(RLM) for line in commands), commands
    # Each command is isolated, or the right-to-left line would show "help/".
    assert all(line.startswith(RLM + "\u2068/") for line in commands), commands
    assert all(visible(line).startswith("/") for line in commands)
    usage_line = next(line for line in commands if "/results" in line.split(":", 1)[1])
    assert "\u2068/results\u2069 ثم رقم التصويت" in usage_line
    await secretariat.send("/language ar")
    await secretariat.expect("العربية")
    await secretariat.send("/help")
    text = visible((await secretariat.expect("ما يمكنكم القيام به")).text)
    assert "/paid ثم رمز العضو والسنة والصندوق والمبلغ" in text
    assert "MEMBER" not in text and "AMOUNT" not in text
    await secretariat.send("/paid AMMAN")
    usage = visible((await secretariat.expect("طريقة الاستخدام")).text)
    assert "/paid ثم رمز العضو" in usage and "MEMBER" not in usage


async def test_french_usage_lines_and_help_speak_of_the_member_represented(bot, server):
    claire = server.user(4002, "Claire", language_code="fr")
    await bot.join(claire, "DAKAR")
    await claire.send("/help")
    text = visible((await claire.expect("Ce que vous pouvez faire")).text)
    assert "votre membre" not in text
    assert "enregistrer la présence du membre que vous représentez" in text
    await claire.send("/dues")
    dues = visible((await claire.expect("Cotisations")).text)
    assert "Cotisations de Dakar" in dues


# --- a session in French and Arabic -------------------------------------------------------

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "languages"
TITLES = {
    "title_fr": "16e Conférence générale",
    "title_ar": "الدورة السادسة عشرة للمؤتمر العام",
}
FRENCH = {"CAIRO": 4100, "ABUJA": 4101, "DAKAR": 4102, "ISLAMABAD": 4103}
ARABIC = {"AMMAN": 4110, "MAKKAH": 4111, "MADINAH": 4112, "QUDS": 4113}


def keep(name: str, data: bytes) -> None:
    """A chart as the delegates received it, kept for a reader to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_bytes(data)


async def next_ballot(user):
    """The user's next message with buttons (the chair also gets the turnout)."""
    while True:
        message = await user.expect(timeout=10)
        if message.buttons:
            return message


async def join_all(bot, server):
    users = {}
    for code, user_id in FRENCH.items():
        users[code] = server.user(user_id, code.title(), language_code="fr")
        await bot.join(users[code], code, role="chair" if code == "CAIRO" else "delegate")
    for code, user_id in ARABIC.items():
        users[code] = server.user(user_id, code.title(), language_code="ar")
        await bot.join(users[code], code)
    return users


async def convene(bot, starts):
    meeting_id = await store.create_meeting(
        bot.db,
        "gc",
        "ordinary",
        "16th General Conference",
        starts,
        "Asia/Riyadh",
        "CAIRO",
        AGENDA,
        actor="test",
        **TITLES,
    )
    meeting = await store.get_meeting(bot.db, meeting_id)
    await announce_convened(services(bot.application), meeting)
    return meeting


async def test_convocation_ballot_vote_and_announced_result_in_french_and_arabic(bot, server):
    users = await join_all(bot, server)
    await convene(bot, clock.now() - timedelta(minutes=1))
    dakar, amman = users["DAKAR"], users["AMMAN"]
    french = visible((await dakar.expect("Convocation")).text)
    assert french.startswith("📣 Convocation\u00a0: Conférence générale — 16e Conférence générale.")
    assert "16th" not in french and "heure normale" not in french
    assert re.search(r"\d\d\u00a0h\u00a0\d\d \(heure de Riyad, UTC\+3\)", french), french
    assert "du membre que vous représentez" in french
    arabic = visible((await amman.expect("دعوة")).text)
    assert "المؤتمر العام: الدورة السادسة عشرة للمؤتمر العام" in arabic
    assert "16th" not in arabic and "التوقيت العربي الرسمي" not in arabic
    assert "(بتوقيت الرياض، UTC+3)" in arabic
    for code, user in users.items():
        if code not in ("DAKAR", "AMMAN"):
            await user.expect()
        await user.send("/checkin")
        await user.expect()
    chair = users["CAIRO"]
    await chair.send("/call_quorum")
    await chair.expect("Le quorum est atteint")
    await chair.send("/motion 1")
    ballots = {code: await next_ballot(user) for code, user in users.items()}
    assert "Vous votez au nom du Caire." in visible(ballots["CAIRO"].text)
    abuja_ballot = visible(ballots["ABUJA"].text)
    assert "Conférence générale — 16e Conférence générale" in abuja_ballot
    assert "Point 1\u00a0: Budget" in abuja_ballot
    assert "Vous votez au nom d'Abuja." in abuja_ballot and "de Abuja" not in abuja_ballot
    assert ballots["ABUJA"].button_texts == ["Oui", "Non", "Abstention"]
    assert "تصوّتون باسم عمّان" in visible(ballots["AMMAN"].text)
    assert ballots["AMMAN"].button_texts == ["نعم", "لا", "امتناع عن التصويت"]

    abuja = users["ABUJA"]
    await abuja.press(ballots["ABUJA"], "Oui")
    confirm = await ballots["ABUJA"].wait_for("Confirmer")
    assert "Vous avez choisi Oui au nom d'Abuja. Confirmer\u202f?" in visible(confirm.text)
    await abuja.press(ballots["ABUJA"], "Confirmer")
    recorded = await ballots["ABUJA"].wait_for("Vote d'Abuja")
    assert "✅ Vote d'Abuja\u00a0: Oui." in visible(recorded.text)
    await amman.press(ballots["AMMAN"], "امتناع عن التصويت")
    confirm = await ballots["AMMAN"].wait_for("تأكيد")
    assert "اخترتم امتناع عن التصويت باسم عمّان. هل تؤكدون؟" in visible(confirm.text)
    await amman.press(ballots["AMMAN"], "تأكيد")
    recorded = await ballots["AMMAN"].wait_for("صوّت العضو")
    assert "✅ صوّت العضو عمّان: امتناع عن التصويت." in visible(recorded.text)
    for code in ("CAIRO", "DAKAR", "ISLAMABAD", "MAKKAH", "MADINAH"):
        user, ballot = users[code], ballots[code]
        yes = ballot.button_texts[0]
        await user.press(ballot, yes)
        await ballot.wait_for(predicate=lambda m: len(m.buttons[0]) == 2)
        await user.press(ballot, ballot.button_texts[0])
        await ballot.wait_for(predicate=lambda m: not m.buttons)
    await chair.send("/close")
    result = visible((await chair.expect("Résolution adoptée")).text)
    assert (
        "Membres inscrits sur la liste des votants\u00a0: 8\u202f; 5 voix pour requises" in result
    )
    assert (
        "Oui\u00a0: 6\u202f; non\u00a0: 0\u202f; abstentions\u00a0: 1\u202f; n'ont pas voté\u00a0: 1."
        in result
    )
    assert "• Le Caire\u00a0: Oui" in result
    await chair.send("/announce")
    await chair.expect("en cours d'envoi", timeout=30)  # three charts are drawn first
    texts = {}
    for code in ("DAKAR", "AMMAN"):
        user = users[code]
        texts[code] = visible(
            (await user.expect(predicate=lambda m: not m.photo_bytes, timeout=10)).text
        )
        chart = await user.expect(predicate=lambda m: m.photo_bytes is not None, timeout=10)
        assert chart.photo_bytes.startswith(b"\x89PNG")
        keep(f"resolution-{'fr' if code == 'DAKAR' else 'ar'}.png", chart.photo_bytes)
    assert "✅ Résolution adoptée." in texts["DAKAR"]
    assert "Adoptée." not in texts["DAKAR"].replace("Résolution adoptée.", "")
    assert "✅ اعتُمد القرار." in texts["AMMAN"]
    assert "عدد المدرجين في قائمة التصويت: 8؛ ويلزم لاعتماد القرار 5 أصوات مؤيدة" in texts["AMMAN"]
    assert "امتناع عن التصويت: 1" in texts["AMMAN"]
    assert "الدورة السادسة عشرة للمؤتمر العام" in texts["AMMAN"]
    await amman.send("/results")
    await amman.expect("اعتُمد القرار")
    chart = await amman.expect("رسم بياني للنتيجة", timeout=30)
    assert chart.photo_bytes.startswith(b"\x89PNG")


async def test_postponement_and_dues_in_french_and_arabic(bot, server):
    users = await join_all(bot, server)
    await convene(bot, clock.now() - timedelta(minutes=1))
    for user in users.values():
        await user.expect()
    chair = users["CAIRO"]
    await chair.send("/checkin")
    await chair.expect()
    await chair.send("/call_quorum")
    told = visible((await chair.expect("quorum n'a pas été atteint")).text)
    assert "reportée au" in told and "heure de Riyad, UTC+3" in told
    notice = visible((await users["AMMAN"].expect("لم يكتمل النصاب")).text)
    assert "(الأعضاء المحتسبون: 1؛ النصاب المطلوب: 7)" in notice
    assert "مطلوبين" not in notice and "بتوقيت الرياض" in notice
    french = visible((await users["DAKAR"].expect("quorum n'a pas été atteint")).text)
    assert "(membres comptés\u00a0: 1\u202f; quorum requis\u00a0: 7)" in french
    abuja = users["ABUJA"]
    await abuja.expect("quorum n'a pas été atteint")
    await abuja.send("/dues")
    dues = visible((await abuja.expect("Cotisations")).text)
    assert dues.startswith("Cotisations d'Abuja") and "À jour de ses cotisations" in dues
    amman = users["AMMAN"]
    await amman.send("/dues")
    dues = visible((await amman.expect("اشتراكات")).text)
    assert "✅ مسدِّد لاشتراكاته: يتمتع بحق التصويت." in dues
    assert "وضع سليم" not in dues


async def test_election_ballot_and_result_in_the_readers_language(bot, server):
    users = await join_all(bot, server)
    meeting = await convene(bot, clock.now() - timedelta(minutes=1))
    for user in users.values():
        await user.expect()
        await user.send("/checkin")
        await user.expect()
    chair = users["CAIRO"]
    await chair.send("/call_quorum")
    await chair.expect("Le quorum est atteint")
    election = await store_elections.create_election(
        bot.db,
        meeting.id,
        "council",
        "Council election",
        2,
        [
            CandidateEntry("DAKAR", None),
            CandidateEntry("ABUJA", None),
            CandidateEntry("ISLAMABAD", None),
        ],
        title_fr="Élection au Conseil",
        title_ar="انتخاب أعضاء المجلس",
    )
    await chair.send(f"/election {election}")
    ballots = {code: await next_ballot(user) for code, user in users.items()}
    assert "Élection au Conseil, tour 1" in visible(ballots["DAKAR"].text)
    assert "انتخاب أعضاء المجلس، الجولة 1" in visible(ballots["AMMAN"].text)
    assert "⬜ أبوجا" in ballots["AMMAN"].button_texts
    plan = {"CAIRO": ["Dakar"], "DAKAR": ["Dakar", "Abuja"], "AMMAN": ["داكار"], "ABUJA": ["Abuja"]}
    for code, names in plan.items():
        user, ballot = users[code], ballots[code]
        for name in names:
            await user.press(ballot, next(b for b in ballot.button_texts if name in b))
            await ballot.wait_for(
                predicate=lambda m, n=name: any(n in b and "☑️" in b for b in m.button_texts)
            )
        await user.press(ballot, ballot.button_texts[-1])  # Submit
        await ballot.wait_for(predicate=lambda m: len(m.button_texts) == 2)
        await user.press(ballot, ballot.button_texts[0])  # Confirm
        await ballot.wait_for(predicate=lambda m: not m.buttons)
    await chair.send("/close")
    result = visible((await chair.expect("tour 1")).text)
    assert "Élus\u00a0: Dakar et Abuja" in result
    chart = await chair.expect(predicate=lambda m: m.photo_bytes is not None, timeout=30)
    keep("election-fr.png", chart.photo_bytes)
    amman = users["AMMAN"]
    await amman.send("/results")
    arabic = visible((await amman.expect("انتخاب أعضاء المجلس")).text)
    assert "المنتخَبان: داكار وأبوجا" in arabic  # two elected: the dual
    assert "داكار: 3 أصوات" in arabic
    chart = await amman.expect(predicate=lambda m: m.photo_bytes is not None, timeout=30)
    keep("election-ar.png", chart.photo_bytes)
