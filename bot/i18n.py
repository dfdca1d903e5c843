"""Languages: gettext catalogs, the user's locale per update, babel formatting, Hijri dates.

The locale lives in a ContextVar, so concurrent updates each see their own. Catalogs are
compiled from the ``.po`` files in memory when first used: compiled files are never kept
in the tree.

Messages are written ``t("Hello, {name}.", name=...)``: ``t`` translates, then fills the
placeholders with HTML-escaped values wrapped in Unicode isolates, so a user's text can
neither break the HTML nor reorder an Arabic sentence. ``Html`` marks a value that is
already safe markup.
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

from babel.dates import format_date, format_time
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


def _escape(value: object) -> str:
    if isinstance(value, Html):
        return str(value)
    return FSI + html.escape(usertext.shown(str(value)), quote=False) + PDI


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


def number(value: int | Decimal) -> str:
    return format_decimal(value, locale=current())


def money(amount: Decimal, currency: str) -> str:
    return format_currency(amount, currency, locale=current())


_HIJRI_MONTHS_FR = (
    "mouharram",
    "safar",
    "rabia al awal",
    "rabia ath-thani",
    "joumada al oula",
    "joumada ath-thania",
    "rajab",
    "chaabane",
    "ramadan",
    "chawwal",
    "dhou al qi`da",
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
    return f"{number(date.day)} {month} {format_decimal(date.year, locale=language, group_separator=False)} {suffix}"


def when(moment: datetime, timezone: str) -> str:
    """A meeting time: the Gregorian date and time in the meeting's zone, then the Hijri date."""
    local = moment.astimezone(ZoneInfo(timezone))
    language = current()
    separator = "، " if language == "ar" else ", "
    date = format_date(local, "full", locale=language)
    time = format_time(local, "HH:mm zzzz", locale=language)
    return f"{date}{separator}{time} ({hijri(local)})"


def day(moment: datetime, timezone: str) -> str:
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{format_date(local, 'long', locale=current())} ({hijri(local)})"
