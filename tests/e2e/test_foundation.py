"""Joining, languages, dues and the secretariat's registry commands, as users see them."""

from __future__ import annotations

from bot import clock
from bot.store import people
from tests.e2e.conftest import YEAR


async def test_join_with_invitation_then_dues(bot, server):
    alice = server.user(1001, "Alice", language_code="en")
    await alice.send("/start")
    await alice.expect("not registered")
    issued = await people.issue_invitation(bot.db, "oicc_test_bot", "CAIRO", "delegate", actor="t")
    await alice.send(f"/start {issued.code}")
    await alice.expect(["Welcome", "Cairo", "/dues"])
    await alice.send("/dues")
    dues = await alice.expect(["Dues of", "Cairo", str(YEAR - 1), "In good standing"])
    assert "Organization" in dues.text and "Cooperation Fund" in dues.text
    assert "$5,000.00" in dues.text
    # the same code cannot be used again, by anyone
    bob = server.user(1002, "Bob", language_code="en")
    await bob.send(f"/start {issued.code}")
    await bob.expect("already been used")
    assert await people.account(bot.db, 1002) is None  # nothing kept about a stranger


async def test_refused_codes(bot, server):
    carol = server.user(1003, "Carol", language_code="en")
    await carol.send("/start notarealcode")
    await carol.expect("not valid")
    await carol.send("/start <b>&amp;</b>")
    await carol.expect("not valid")
    issued = await people.issue_invitation(bot.db, "oicc_test_bot", "DAKAR", "delegate", actor="t")
    await people.revoke_invitations(bot.db, "DAKAR", actor="t")
    await carol.send(f"/start {issued.code}")
    await carol.expect("revoked")
    expired = "expiredcode123"
    from datetime import timedelta

    await people.create_invitation(
        bot.db, expired, "DAKAR", "delegate", clock.now() - timedelta(seconds=1), actor="t"
    )
    await carol.send(f"/start {expired}")
    await carol.expect("expired")
    assert await people.account(bot.db, 1003) is None  # nothing kept about a stranger


async def test_account_belongs_to_one_member(bot, server):
    dana = server.user(1004, "Dana", language_code="en")
    await bot.join(dana, "CAIRO")
    second = await people.issue_invitation(bot.db, "oicc_test_bot", "AMMAN", "delegate", actor="t")
    await dana.send(f"/start {second.code}")
    await dana.expect("already registered")
    assert (await people.account(bot.db, 1004)).member == "CAIRO"
    assert (await people.find_invitation(bot.db, second.code)).used_at is None


async def test_language_from_telegram_then_chosen(bot, server):
    omar = server.user(1005, "Omar", language_code="ar")
    await bot.join(omar, "AMMAN")
    await omar.send("/dues")
    text = (await omar.expect("عمّان")).text
    assert "منظمة" in text or "المنظمة" in text
    await omar.send("/language")
    menu = await omar.expect()
    assert [b.text for b in menu.buttons[0]] == ["العربية", "English", "Français"]
    await omar.press(menu, "Français")
    await omar.expect("français")
    await omar.send("/dues")
    await omar.expect("Cotisations")
    await omar.send("/language en")
    await omar.expect("English")
    await omar.send("/language xx")
    await omar.expect("Unknown language")


async def test_menus_per_language_and_role(bot, server, secretariat):
    for language, word in (("ar", "اللغة"), ("fr", "langue"), ("en", "language")):
        commands = dict(server.commands(language_code=language))
        assert word in commands["language"], language
        assert "invite" not in commands
    await secretariat.send("/help")
    help_text = (await secretariat.expect("/invite")).text
    assert "invite" in dict(secretariat.commands())  # the secretariat's own, longer menu
    assert "/arrears" in help_text and "/paid" in help_text
    alice = server.user(1006, "Alice", language_code="en")
    await bot.join(alice, "CAIRO")
    await alice.send("/help")
    delegate_help = (await alice.expect("/dues")).text
    assert "/invite" not in delegate_help and "/arrears" not in delegate_help


async def test_secretariat_invites_and_sees_arrears(bot, server, secretariat):
    await secretariat.send("/invite cairo chair")
    invite = await secretariat.expect(
        ["Invitation for", "Cairo", "https://t.me/oicc_test_bot?start="]
    )
    code = invite.text.split("start=")[1].split()[0].strip("\u2069")
    zaid = server.user(1010, "Zaid", language_code="en")
    await zaid.send(f"/start {code}")
    await zaid.expect("chair role")
    await secretariat.send("/invite ROME")
    await secretariat.expect("no member with the code")
    await secretariat.send("/arrears")
    arrears = await secretariat.expect("in arrears")
    for name in ("Tunis", "Bamako", "Dhaka"):
        assert name in arrears.text
    assert "Cairo" not in arrears.text
    await secretariat.send("/dues TUNIS")
    await secretariat.expect(["Not in good standing", "outstanding"])
    await secretariat.send(f"/paid TUNIS {YEAR - 1} organization 5000")
    await secretariat.expect("Payment recorded")
    await secretariat.send("/dues TUNIS")
    await secretariat.expect("In good standing")


async def test_delegates_cannot_use_secretariat_commands(bot, server):
    eve = server.user(1011, "Eve", language_code="en")
    await bot.join(eve, "TUNIS")
    for command in (
        "/invite CAIRO",
        "/arrears",
        f"/paid TUNIS {YEAR - 1} organization 5000",
        "/dues CAIRO",
    ):
        await eve.send(command)
        await eve.expect(["Only" if not command.startswith("/dues") else "own member"])
    await eve.send("/dues")
    await eve.expect("Not in good standing")


async def test_bad_input_gets_a_clear_reply_and_changes_nothing(bot, server, secretariat):
    before = (await bot.db.one("SELECT count(*) FROM audit_log"))[0]
    await secretariat.send("/paid TUNIS 20x4 organization 5")
    await secretariat.expect("not a year")
    await secretariat.send(f"/paid TUNIS {YEAR - 1} treasury 5")
    await secretariat.expect("organization or cooperation_fund")
    await secretariat.send(f"/paid TUNIS {YEAR - 1} organization -5")
    await secretariat.expect("positive amount")
    await secretariat.send("/paid")
    await secretariat.expect("Usage")
    await secretariat.send("/frobnicate")
    await secretariat.expect("do not know this command")
    await secretariat.send("<b>hello</b> & <script>")
    await secretariat.expect("only understand commands")
    await secretariat.send("x" * 4096)
    await secretariat.expect("only understand commands")
    await secretariat.send("/dues " + "<i>" * 100)
    await secretariat.expect("no member with the code")
    await secretariat.press_data(None, "v:999:y")
    assert "Only delegates" in (await secretariat.last_answer()).text
    await secretariat.press_data(None, "zz:1:<b>")
    assert "not valid" in (await secretariat.last_answer()).text
    await secretariat.press_data(None, "lang:xx")
    assert "not valid" in (await secretariat.last_answer()).text
    assert (await bot.db.one("SELECT count(*) FROM audit_log"))[0] == before


async def test_unregistered_users_only_learn_how_to_join(bot, server):
    stranger = server.user(1012, "Stranger", language_code="fr")
    for command in ("/dues", "/help", "/arrears", "hello"):
        await stranger.send(command)
        await stranger.expect("invitation")


async def test_secretariat_is_reminded_once_of_invitations_about_to_expire(
    bot, server, secretariat
):
    from datetime import timedelta

    from handlers.invitations import remind_expiring

    await secretariat.send("/help")
    await secretariat.expect("/invite")
    soon = clock.now() + timedelta(hours=20)
    await people.create_invitation(bot.db, "soon-code", "CAIRO", "chair", soon, actor="t")
    await people.create_invitation(
        bot.db, "later-code", "DAKAR", "delegate", soon + timedelta(days=5), actor="t"
    )
    await people.revoke_invitations(bot.db, "DAKAR", actor="t")  # revoked: no reminder
    await people.create_invitation(bot.db, "amman-code", "AMMAN", "delegate", soon, actor="t")
    amman = server.user(1020, "Used", language_code="en")
    await amman.send("/start amman-code")  # used: no reminder
    await amman.expect("Welcome")
    assert await remind_expiring(services_of(bot)) is not None
    reminder = await secretariat.expect("expires within two days")
    assert "Cairo (chair)" in reminder.text.replace("\u2068", "").replace("\u2069", "")
    assert "Dakar" not in reminder.text and "Amman" not in reminder.text
    assert await remind_expiring(services_of(bot)) is None  # once per invitation
    await secretariat.expect_nothing(0.3)


def services_of(bot):
    from bot.app import services

    return services(bot.application)
