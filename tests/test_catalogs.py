"""Every message the code can show exists in Arabic, English and French."""

from bot import catalogs, i18n


def test_every_message_is_translated_in_all_three_catalogs():
    problems = catalogs.problems()
    assert problems == [], "\n".join(problems[:40])


def test_catalog_check_catches_what_it_should():
    from babel.messages.catalog import Message

    source = Message("Hello {name}, <b>{n}</b>")
    assert catalogs._message_problems("fr", source, None, 2) == [
        "[fr] 'Hello {name}, <b>{n}</b>': missing"
    ]
    fuzzy = Message(source.id, "Bonjour {name}", flags=["fuzzy"])
    assert "fuzzy" in catalogs._message_problems("fr", source, fuzzy, 2)[0]
    wrong = Message(source.id, "Bonjour {nom}, <b>{n}</b>")
    assert "placeholders" in catalogs._message_problems("fr", source, wrong, 2)[0]
    untagged = Message(source.id, "Bonjour {name}, {n}")
    assert "tags" in catalogs._message_problems("fr", source, untagged, 2)[0]
    copied = Message(source.id, source.id)
    assert "not translated" in catalogs._message_problems("ar", source, copied, 6)[0]
    plural = Message(("{n} day", "{n} days"), ["يوم"] * 2)
    assert "plural forms" in catalogs._message_problems("ar", plural, plural, 6)[0]


def test_compiled_catalogs_translate():
    with i18n.use_locale("fr"):
        assert i18n.t("General Conference") == "Conférence générale"
    with i18n.use_locale("ar"):
        assert i18n.t("General Conference") == "المؤتمر العام"
