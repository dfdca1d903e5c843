"""What delegates read in Arabic and in French, as the bot sends it."""

from __future__ import annotations

from bot.botapi.server import visible

RLM = "\u200f"


async def test_arabic_help_lines_read_right_to_left_and_usage_is_arabic(bot, server, secretariat):
    omar = server.user(4001, "Omar", language_code="ar")
    await bot.join(omar, "AMMAN")
    await omar.send("/help")
    lines = (await omar.expect("ما يمكنكم القيام به")).text.splitlines()
    commands = [line for line in lines[1:] if line.strip()]
    assert commands and all(line.startswith(RLM + "/") for line in commands), commands
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
