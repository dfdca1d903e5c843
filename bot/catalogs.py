"""Keeping the three catalogs complete: ``python -m bot.catalogs sync|check``.

``sync`` extracts every message from the code into ``locales/messages.pot``, merges it
into the Arabic, English and French catalogs, fills English from the source text and
pins the Arabic plural rule (babel writes its own; CLDR's is the reference).
``check`` lists every message missing, empty, fuzzy or with placeholders that differ.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n import ARABIC_PLURAL_FORMS, DOMAIN, LANGUAGES, LOCALES_DIR

KEYWORDS = {"t": None, "tn": (1, 2), "N_": None}
# A comment starting with this tag just above a message reaches its translators.
COMMENT_TAGS = ("TRANSLATORS:",)
ROOT = LOCALES_DIR.parent
# {name}, or {name:de} where a French translation contracts a preposition with a name.
PLACEHOLDER = re.compile(r"\{(\w*)(?::[^{}]*)?\}")
TAG = re.compile(r"</?[a-z]+[^>]*>")


def extract() -> Catalog:
    template = Catalog(project="oicc-bot", fuzzy=False)
    for folder in ("bot", "handlers"):
        for _file, _line, message, comments, _context in extract_from_dir(
            ROOT / folder, keywords=KEYWORDS, comment_tags=COMMENT_TAGS, strip_comment_tags=True
        ):
            existing = template.get(message if isinstance(message, str) else message[0])
            if existing is not None:
                for comment in comments:
                    if comment not in existing.auto_comments:
                        existing.auto_comments.append(comment)
            else:
                template.add(message, auto_comments=comments)
    return template


def _path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def load(language: str) -> Catalog:
    with _path(language).open("rb") as po:
        return read_po(po, locale=language)


def _save(catalog: Catalog, path: Path) -> None:
    with path.open("wb") as po:
        write_po(po, catalog, width=100, no_location=True, sort_output=True)
    if catalog.locale and str(catalog.locale) == "ar":
        text = path.read_text(encoding="utf-8")
        text = re.sub(
            r'"Plural-Forms: .*?\\n"\n',
            f'"Plural-Forms: {ARABIC_PLURAL_FORMS}\\\\n"\n',
            text,
            count=1,
            flags=re.S,
        )
        path.write_text(text, encoding="utf-8")


def sync() -> None:
    template = extract()
    _save(template, LOCALES_DIR / f"{DOMAIN}.pot")
    for language in LANGUAGES:
        catalog = load(language)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if language == "en":
            for message in catalog:
                if message.id:
                    message.string = message.id
                    message.flags.discard("fuzzy")
        _save(catalog, _path(language))


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def _words(text: str) -> bool:
    """Whether a message has Latin words outside its placeholders and tags."""
    bare = TAG.sub("", PLACEHOLDER.sub("", text))
    return re.search(r"[A-Za-z]{3,}", bare) is not None


def _tags(text: str) -> list[str]:
    return sorted(TAG.findall(text))


def problems() -> list[str]:
    """Everything that keeps a user from reading a message in their language."""
    found: list[str] = []
    template = extract()
    for language in LANGUAGES:
        catalog = load(language)
        plurals = catalog.num_plurals
        for source in template:
            if not source.id:
                continue
            message = catalog.get(source.id)
            found.extend(_message_problems(language, source, message, plurals))
    return found


def _message_problems(
    language: str, source: Message, message: Message | None, plurals: int
) -> list[str]:
    key = source.id if isinstance(source.id, str) else source.id[0]
    where = f"[{language}] {key!r}"
    if message is None:
        return [f"{where}: missing"]
    if message.fuzzy:
        return [f"{where}: fuzzy"]
    ids = [message.id] if isinstance(message.id, str) else list(message.id)
    strings = [message.string] if isinstance(message.string, str) else list(message.string or ())
    if isinstance(message.id, tuple) and len(strings) != plurals:
        return [f"{where}: {len(strings)} plural forms, {plurals} expected"]
    out: list[str] = []
    if language == "ar" and any(string in ids for string in strings) and _words(ids[0]):
        out.append(f"{where}: not translated (same as the English)")
    wanted = set().union(*(_placeholders(i) for i in ids))
    for string in strings:
        if not string.strip():
            out.append(f"{where}: empty")
            continue
        got = _placeholders(string)
        # A plural form may leave out {n} (Arabic says "one member" without the number).
        if got != wanted and not (isinstance(message.id, tuple) and got == wanted - {"n"}):
            out.append(f"{where}: placeholders {sorted(got)} instead of {sorted(wanted)}")
        if _tags(string) != _tags(ids[0]) and _tags(string) != _tags(ids[-1]):
            out.append(f"{where}: HTML tags differ")
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["sync"]:
        sync()
        return 0
    if argv[:1] == ["check"]:
        found = problems()
        print("\n".join(found) or "catalogs complete")
        return 1 if found else 0
    print("usage: python -m bot.catalogs sync|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
