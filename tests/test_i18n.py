from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot import i18n
from bot.i18n import Html, t, tn


def test_language_from_telegram_prefers_arabic_and_french_else_english():
    assert i18n.language_from_telegram("ar-SA") == "ar"
    assert i18n.language_from_telegram("fr") == "fr"
    assert i18n.language_from_telegram("fr-CA") == "fr"
    assert i18n.language_from_telegram("de") == "en"
    assert i18n.language_from_telegram(None) == "en"


def test_arabic_catalog_uses_cldr_six_plural_forms():
    catalog = i18n.translations("ar")
    header = catalog._info["plural-forms"]  # type: ignore[attr-defined]
    assert header.replace(" ", "") == i18n.ARABIC_PLURAL_FORMS.replace(" ", "")
    plural = catalog.plural  # type: ignore[attr-defined]
    # zero, one, two, few (3-10), many (11-99), other (100-102)
    assert [plural(n) for n in (0, 1, 2, 3, 10, 11, 99, 100, 102, 103, 111)] == [
        0,
        1,
        2,
        3,
        3,
        4,
        4,
        5,
        5,
        3,
        4,
    ]


def test_arabic_plural_message_picks_distinct_forms():
    import re

    with i18n.use_locale("ar"):
        forms = {
            re.sub(
                r"\u2068[^\u2069]*\u2069",
                "#",
                tn("{n} member is in arrears:", "{n} members are in arrears:", n),
            )
            for n in (0, 1, 2, 3, 11, 100)
        }
    assert len(forms) == 6, forms


def test_placeholders_are_escaped_and_isolated():
    with i18n.use_locale("en"):
        text = t("There is no member with the code {code}.", code="<b>X</b>&")
    assert "<b>" not in text
    assert "&lt;b&gt;X&lt;/b&gt;&amp;" in text
    assert i18n.FSI + "&lt;b&gt;" in text


def test_html_values_are_not_escaped_twice():
    with i18n.use_locale("en"):
        text = t("Reason: {code}", code=Html("<b>ok</b>"))
    assert "<b>ok</b>" in text


def test_locale_is_per_context():
    import asyncio

    async def worker(language: str) -> str:
        i18n.set_locale(language)
        await asyncio.sleep(0.01)
        return i18n.current()

    async def main() -> list[str]:
        return list(await asyncio.gather(*(worker(x) for x in ("ar", "fr", "en", "ar"))))

    assert asyncio.run(main()) == ["ar", "fr", "en", "ar"]


@pytest.mark.parametrize("language", ["ar", "en", "fr"])
def test_meeting_dates_show_hijri_beside_gregorian(language):
    moment = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    with i18n.use_locale(language):
        text = i18n.when(moment, "Asia/Riyadh")
    assert "1448" in text  # 15 Jumada al-Akhirah 1448
    assert "2026" in text
    assert (
        "12\u00a0h\u00a000" if language == "fr" else "12:00"
    ) in text  # 09:00 UTC is noon in Riyadh


def test_time_zones_are_named_by_city_and_offset_not_by_long_names():
    moment = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    expected = {
        "en": "12:00 (Riyadh time, UTC+3)",
        "fr": "12\u00a0h\u00a000 (heure de Riyad, UTC+3)",
        "ar": "12:00 (بتوقيت الرياض، UTC+3)",
    }
    for language, text in expected.items():
        with i18n.use_locale(language):
            shown = i18n.visible(i18n.zone_time(moment, "Asia/Riyadh"))
        assert shown == text
        assert "Arabian" not in shown and "normale" not in shown and "الرسمي" not in shown
    with i18n.use_locale("fr"):
        assert i18n.visible(i18n.zone_time(moment, "Africa/Cairo")).endswith(
            "(heure du Caire, UTC+2)"
        )
        assert i18n.visible(i18n.zone_time(moment, "Africa/Abidjan")).endswith(
            "(heure d'Abidjan, UTC)"
        )
        assert i18n.visible(i18n.zone_time(moment, "Asia/Kolkata")).endswith("UTC+5:30)")
        assert i18n.visible(i18n.zone_time(moment, "UTC")) == "09\u00a0h\u00a000 (UTC)"


def test_french_writes_the_first_of_a_hijri_month_as_an_ordinal():
    # 20 March 2026 is 1 Shawwal 1447 in the Umm al-Qura calendar.
    moment = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    with i18n.use_locale("fr"):
        assert i18n.hijri(moment) == "1er chawwal 1447 H"
    with i18n.use_locale("en"):
        assert i18n.hijri(moment).startswith("1 Shawwal")


def test_french_prepositions_contract_with_the_names_article():
    with i18n.use_locale("fr"):
        for name, expected in (
            ("Le Caire", "au nom du Caire"),
            ("Abuja", "au nom d'Abuja"),
            ("Dakar", "au nom de Dakar"),
            ("Les Comores", "au nom des Comores"),
            ("La Mecque", "au nom de La Mecque"),
            ("Islamabad", "au nom d'Islamabad"),
        ):
            text = i18n.t(
                "You vote for {member}. One vote per member; a confirmed vote is final.",
                member=name,
            )
            assert i18n.visible(text).startswith("Vous votez " + expected + ". "), text
        assert "de Le" not in i18n.t(
            "✅ {member} voted: <b>{choice}</b>.", member="Le Caire", choice="Oui"
        )
        escaped = i18n.t("<b>Dues of {member}</b>", member="Le <Caire>")
        assert "du \u2068&lt;Caire&gt;\u2069" in escaped


def test_lists_of_names_are_joined_as_each_language_joins_them():
    names = ["Le Caire", "Abuja", "Dakar"]
    with i18n.use_locale("fr"):
        assert i18n.visible(i18n.listing(names)) == "Le Caire, Abuja et Dakar"
    with i18n.use_locale("en"):
        assert i18n.visible(i18n.listing(names)) == "Le Caire, Abuja, and Dakar"
    with i18n.use_locale("ar"):
        assert i18n.visible(i18n.listing(["القاهرة", "أبوجا"])) == "القاهرة وأبوجا"
        assert "," not in i18n.listing(["القاهرة", "أبوجا", "داكار"])
    with i18n.use_locale("en"):
        assert "&lt;b&gt;" in i18n.listing(["<b>x</b>", "y"])


def test_money_is_formatted_per_locale():
    with i18n.use_locale("fr"):
        assert i18n.money(Decimal("1200.50"), "USD").startswith("1\u202f200,50")
    with i18n.use_locale("en"):
        assert i18n.money(Decimal("1200.50"), "USD") == "$1,200.50"
