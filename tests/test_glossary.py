"""The glossary (locales/glossary.toml): one term for one concept in every translation."""

import re
import tomllib

import pytest

from bot import catalogs
from bot.i18n import LOCALES_DIR

GLOSSARY = tomllib.loads((LOCALES_DIR / "glossary.toml").read_text(encoding="utf-8"))["term"]
# Short vowels, tanween, shadda, sukun and the dagger alef: a form is found with or without.
TASHKEEL = re.compile("[\u064b-\u0652\u0670]")

KEY_TERMS = {
    "General Conference",
    "Administrative Council",
    "General Secretariat",
    "Secretary General",
    "member capital or city",
    "delegate",
    "chair (of a meeting)",
    "quorum",
    "postponement",
    "resolution",
    "abstention",
    "ballot",
    "blank ballot",
    "receipt",
    "casting vote",
    "run-off",
    "dues",
    "Cooperation Fund",
    "good standing",
    "in arrears",
    "notice",
}


def bare(language: str, text: str) -> str:
    return TASHKEEL.sub("", text) if language == "ar" else text


def entries(language: str) -> list[tuple[str, list[str]]]:
    """Every translated entry: its English (all forms joined) and its translations."""
    out = []
    for message in catalogs.load(language):
        if not message.id:
            continue
        english = message.id if isinstance(message.id, str) else " / ".join(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        out.append((english, strings))
    return out


def test_the_glossary_has_every_key_term_with_both_languages():
    names = {term["en"] for term in GLOSSARY}
    assert KEY_TERMS <= names, KEY_TERMS - names
    for term in GLOSSARY:
        for key in ("match", "ar", "ar_forms", "ar_forbidden", "fr", "fr_forms", "fr_forbidden"):
            assert key in term, (term["en"], key)
        # The chosen term is itself an accepted form.
        assert any(re.search(f, bare("ar", term["ar"])) for f in term["ar_forms"]), term["en"]
        assert any(re.search(f, term["fr"]) for f in term["fr_forms"]), term["en"]


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_every_entry_with_a_key_term_uses_an_accepted_form(language):
    problems = []
    for english, strings in entries(language):
        for term in GLOSSARY:
            if not re.search(term["match"], english, re.IGNORECASE):
                continue
            for string in strings:
                found = (
                    re.search(f, bare(language, string), re.I) for f in term[f"{language}_forms"]
                )
                if not any(found):
                    problems.append(f"{term['en']!r} in {english!r}: {string!r}")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_no_translation_uses_a_forbidden_variant(language):
    problems = []
    for english, strings in entries(language):
        for term in GLOSSARY:
            for forbidden in term[f"{language}_forbidden"]:
                for string in strings:
                    if re.search(forbidden, bare(language, string)):
                        problems.append(f"{forbidden!r} ({term['en']}) in {english!r}: {string!r}")
    assert problems == [], "\n".join(problems)


def test_the_check_catches_a_forbidden_variant_and_a_missing_term():
    telegram = next(term for term in GLOSSARY if term["en"] == "Telegram")
    assert any(re.search(f, "حساب تيليجرام") for f in telegram["ar_forbidden"])
    member = next(term for term in GLOSSARY if term["en"].startswith("the member you"))
    assert any(re.search(f, "le vote de votre membre") for f in member["fr_forbidden"])
    chair = next(term for term in GLOSSARY if term["en"].startswith("chair"))
    assert not any(re.search(f, bare("ar", "رئيس الاجتماع")) for f in chair["ar_forms"])
    assert re.search(chair["match"], "The chair opens it", re.IGNORECASE)
    assert not re.search(chair["match"], "/invite MEMBER [delegate|chair]", re.IGNORECASE)
