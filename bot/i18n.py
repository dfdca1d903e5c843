"""Languages: gettext catalogs, the user's locale per update, babel formatting, Hijri dates.

The locale lives in a ContextVar, so concurrent updates each see their own. Catalogs are
compiled from the ``.po`` files in memory when first used: compiled files are never kept
in the tree.

Messages are written ``t("Hello, {name}.", name=...)``: ``t`` translates, then fills the
placeholders with HTML-escaped values wrapped in Unicode isolates, so a user's text can
neither break the HTML nor reorder an Arabic sentence. ``Html`` marks a value that is
already safe markup.

A French translation may write ``{member:de}`` or ``{member:à}`` where a preposition
meets a name: it becomes "du Caire", "d'Abuja", "de Dakar", "au Caire" ("de Le Caire"
is not French). Lists of names go through ``listing`` ("Le Caire, Abuja et Dakar",
"القاهرة وأبوجا وداكار").
"""

from __future__ import annotations

import contextlib
import contextvars
import html
import io
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_timezone_location
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations
from hijridate import Gregorian

from bot import usertext

LANGUAGES = ("ar", "en", "fr")
DEFAULT = "en"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
LANGUAGE_NAMES = {"ar": "العربية", "en": "English", "fr": "Français"}

# CLDR's plural rule for Arabic, six forms: zero, one, two, few (3-10), many (11-99), other.
ARABIC_PLURAL_FORMS = (
    "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3"
    " : n%100>=11 ? 4 : 5);"
)

FSI, PDI = "\u2068", "\u2069"
# Right-to-left mark: starts an Arabic line that would otherwise begin with a Latin word
# (a command), so that clients choosing direction per line show it right to left.
RLM = "\u200f"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=DEFAULT)


class Html(str):
    """A string that is already valid Telegram HTML: not escaped again."""


def language_from_telegram(code: str | None) -> str:
    """Telegram's language_code to one of ours: ar*, fr*, else English."""
    code = (code or "").lower()
    for language in ("ar", "fr"):
        if code.startswith(language):
            return language
    return DEFAULT


def normalize_language(text: str) -> str | None:
    text = text.strip().lower()
    return text if text in LANGUAGES else None


def current() -> str:
    return _current.get()


def set_locale(language: str) -> None:
    _current.set(language if language in LANGUAGES else DEFAULT)


@contextlib.contextmanager
def use_locale(language: str) -> Iterator[None]:
    token = _current.set(language if language in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


@cache
def translations(language: str) -> NullTranslations:
    path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


class _Filled(str):
    """A placeholder's value, ready for the message; ``{x:de}`` and ``{x:à}`` put a French
    preposition before it, contracted with the name's article as French requires."""

    plain: str

    def __format__(self, spec: str) -> str:
        if not spec:
            return str(self)
        if spec not in ("de", "à"):
            raise ValueError(f"unknown placeholder format {spec!r}")
        return _preposition(spec, self.plain, str(self))


_VOWELS = tuple("AEIOUYÂÀÉÈÊËÎÏÔÛÙaeiouyâàéèêëîïôûù")


def _preposition(word: str, plain: str, shown: str) -> str:
    for article, contracted in (
        (("Le ", "du "), ("Les ", "des ")) if word == "de" else (("Le ", "au "), ("Les ", "aux "))
    ):
        if plain.startswith(article):
            return contracted + _isolate(plain[len(article) :])
    if word == "de" and plain.startswith(_VOWELS):
        return "d'" + shown
    return f"{word} {shown}"


def _isolate(text: str) -> str:
    """Text from outside (a name, a title, a number) inside a sentence: escaped, without
    line breaks or direction controls, in an isolate it cannot leave."""
    return FSI + html.escape(usertext.shown(text), quote=False) + PDI


def _escape(value: object) -> str:
    if isinstance(value, Html):
        filled = _Filled(value)
        filled.plain = visible(html.unescape(value))
    else:
        filled = _Filled(_isolate(str(value)))
        filled.plain = usertext.shown(str(value))
    return filled


def gettext(message: str) -> str:
    return translations(current()).gettext(message)


def t(message: str, /, **params: object) -> Html:
    """Translate ``message`` into the current locale and fill its placeholders safely."""
    text = gettext(message)
    return Html(text.format(**{k: _escape(v) for k, v in params.items()}) if params else text)


def tn(singular: str, plural: str, n: int, /, **params: object) -> Html:
    """Like ``t`` with a plural chosen for ``n`` (``{n}`` is formatted by babel)."""
    text = translations(current()).ngettext(singular, plural, n)
    params.setdefault("n", number(n))
    return Html(text.format(**{k: _escape(v) for k, v in params.items()}))


def N_(message: str) -> str:  # noqa: N802 - the conventional name for a marker
    """Marks a message for extraction; translate it later with ``t``."""
    return message


def visible(text: str) -> str:
    """Text without the isolates, for places that draw text themselves (charts)."""
    return text.replace(FSI, "").replace(PDI, "")


def escape(text: str, *, lines: bool = False) -> Html:
    """Text typed by a user, safe to put in a message as it is: HTML-escaped, without
    direction or control characters, on one line unless ``lines`` (see bot/usertext.py)."""
    return Html(html.escape(usertext.shown(text, lines=lines), quote=False))


def listing(items: list[str] | tuple[str, ...]) -> Html:
    """Names joined as the language joins them, each escaped and isolated: "Le Caire, Abuja
    et Dakar", "القاهرة وأبوجا وداكار"."""
    if not items:
        return Html("")
    return Html(format_list([_isolate(str(item)) for item in items], locale=current()))


def rtl_line(text: str) -> str:
    """A line of an Arabic message that may start with a Latin word: marked right to left."""
    return RLM + text if current() == "ar" else text


def number(value: int | Decimal) -> str:
    return format_decimal(value, locale=current())


def money(amount: Decimal, currency: str) -> str:
    return format_currency(amount, currency, locale=current())


_HIJRI_MONTHS_FR = (
    "mouharram",
    "safar",
    "rabia al-awal",
    "rabia ath-thani",
    "joumada al-oula",
    "joumada ath-thania",
    "rajab",
    "chaabane",
    "ramadan",
    "chawwal",
    "dhou al-qi'da",
    "dhou al-hijja",
)


def hijri(moment: datetime) -> str:
    """The Umm al-Qura date of ``moment``'s calendar day, in the current language."""
    date = Gregorian(moment.year, moment.month, moment.day).to_hijri()
    language = current()
    if language == "fr":
        month = _HIJRI_MONTHS_FR[date.month - 1]
    else:
        month = date.month_name("ar" if language == "ar" else "en")
    suffix = "هـ" if language == "ar" else "AH" if language == "en" else "H"
    # French writes the first day of a month as an ordinal: 1er chawwal.
    first = "1er" if language == "fr" and date.day == 1 else number(date.day)
    year = format_decimal(date.year, locale=language, group_separator=False)
    return f"{first} {month} {year} {suffix}"


def clock(moment: datetime) -> str:
    """A time of day as the language writes it: 14:00, or 14 h 00 in French."""
    pattern = "HH 'h' mm" if current() == "fr" else "HH:mm"
    return format_time(moment, pattern, locale=current()).replace(" ", "\u00a0")


def offset(moment: datetime) -> str:
    """The UTC offset of an aware time: UTC, UTC+3, UTC+5:30, UTC−4."""
    delta = moment.utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta is not None else 0
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "\u2212"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_time(moment: datetime, timezone: str) -> str:
    """A time of day with its zone named by its city and UTC offset, never by a long CLDR
    name nobody uses: "14:00 (Riyadh time, UTC+3)", "14 h 00 (heure de Riyad, UTC+3)"."""
    local = moment.astimezone(ZoneInfo(timezone))
    if timezone == "UTC" or timezone.startswith("Etc/") or "/" not in timezone:
        return f"{clock(local)} ({offset(local)})"
    city = get_timezone_location(ZoneInfo(timezone), locale=current(), return_city=True)
    # TRANSLATORS: a meeting time; {city} is the city that names the time zone, {offset}
    # its offset from UTC, e.g. "14:00 (Riyadh time, UTC+3)".
    return str(
        t(
            "{time} ({city} time, {offset})",
            time=Html(clock(local)),
            city=city,
            offset=offset(local),
        )
    )


def when(moment: datetime, timezone: str) -> str:
    """A meeting time: the Gregorian date with the Hijri date beside it, then the time in
    the meeting's zone: "vendredi 20 mars 2026 (1er chawwal 1447 H), 14 h 00 (heure de
    Riyad, UTC+3)"."""
    local = moment.astimezone(ZoneInfo(timezone))
    separator = "، " if current() == "ar" else ", "
    date = format_date(local, "full", locale=current())
    return f"{date} ({hijri(local)}){separator}{zone_time(moment, timezone)}"


def day(moment: datetime, timezone: str) -> str:
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{format_date(local, 'long', locale=current())} ({hijri(local)})"
