"""What every handler needs: who is calling, in which language, and how to answer."""

from __future__ import annotations

import functools
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, TypeHandler

from bot import i18n
from bot.app import Services, services
from bot.i18n import t
from bot.registry import Member
from bot.store import people, registry
from bot.store.people import Account
from bot.textsplit import split_message

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
Need = Literal["anyone", "registered", "delegate", "chair", "secretariat"]


@dataclass(frozen=True)
class Caller:
    telegram_id: int
    language: str
    account: Account | None
    member: Member | None
    is_secretariat: bool

    @property
    def role(self) -> str | None:
        if self.is_secretariat:
            return "secretariat"
        return self.account.role if self.account else None

    @property
    def is_delegate(self) -> bool:
        """A delegate of a member (chairs are delegates of their member too)."""
        return self.member is not None and self.role in ("delegate", "chair")

    @property
    def is_chair(self) -> bool:
        return self.is_delegate and self.role == "chair"

    @property
    def registered(self) -> bool:
        return self.is_secretariat or self.is_delegate


async def identify(update: Update, svc: Services) -> Caller | None:
    user = update.effective_user
    if user is None or user.is_bot:
        return None
    account = await people.account(svc.db, user.id)
    if account is None and user.id not in svc.settings.secretariat_ids:
        # Someone who has not joined: nothing about them is stored.
        language = i18n.language_from_telegram(user.language_code)
        return Caller(user.id, language, None, None, False)
    if account is None or account.telegram_language != user.language_code:
        await people.seen(svc.db, user.id, user.language_code)
        account = await people.account(svc.db, user.id)
    return await identify_id(svc, user.id, account)


async def identify_id(svc: Services, telegram_id: int, account: Account | None = None) -> Caller:
    """Who an account is, from the database alone (for messages the bot starts)."""
    account = account or await people.account(svc.db, telegram_id)
    language = (account.language if account and account.language else None) or (
        i18n.language_from_telegram(account.telegram_language if account else None)
    )
    member = None
    if account and account.member:
        member = await registry.get_member(svc.db, account.member)
    is_secretariat = telegram_id in svc.settings.secretariat_ids or bool(
        account and account.role == "secretariat"
    )
    return Caller(telegram_id, language, account, member, is_secretariat)


class SlowDown:
    """At most ``limit`` updates a minute per user; others are not slowed.

    A user over the limit is told once, then ignored until the minute has passed, so that
    a flood of commands or presses does not become a flood of replies. Presses of a ballot
    are counted apart, against a larger limit: a council ballot with many seats takes many
    presses. Only the times of recent updates are kept, in memory, and only for a minute.
    """

    BALLOT_FACTOR = 5
    SWEEP_EVERY = 1000

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.recent: dict[tuple[int, bool], deque[float]] = {}
        # Who was told, and by which count: at most one notice while either holds them back.
        self.told: dict[int, bool] = {}
        self.calls = 0

    def allow(self, telegram_id: int, now: float | None = None, *, ballot: bool = False) -> bool:
        if self.limit <= 0:
            return True
        now = time.monotonic() if now is None else now
        self.calls += 1
        if self.calls % self.SWEEP_EVERY == 0:
            self._sweep(now)
        window = self.recent.setdefault((telegram_id, ballot), deque())
        while window and now - window[0] >= 60:
            window.popleft()
        if len(window) >= self.limit * (self.BALLOT_FACTOR if ballot else 1):
            return False
        window.append(now)
        if self.told.get(telegram_id) is ballot:
            del self.told[telegram_id]
        return True

    def first_refusal(self, telegram_id: int, *, ballot: bool = False) -> bool:
        """True once per slowed stretch: the refusal the user is told about."""
        if telegram_id in self.told:
            return False
        self.told[telegram_id] = ballot
        return True

    def _sweep(self, now: float) -> None:
        """Forget everyone whose last update left the minute."""
        for key in [k for k, w in self.recent.items() if not w or now - w[-1] >= 60]:
            del self.recent[key]
        kept = {telegram_id for telegram_id, _ in self.recent}
        self.told = {k: v for k, v in self.told.items() if k in kept}


# Callback kinds of a ballot in progress (bot/callbacks.py): limited apart, generously.
BALLOT_KINDS = frozenset({"v", "vc", "cv", "et", "es", "ec"})


def _slowdown(svc: Services) -> SlowDown:
    limiter = svc.extras.get("slowdown")
    if not isinstance(limiter, SlowDown):
        limiter = svc.extras["slowdown"] = SlowDown(svc.settings.user_commands_per_minute)
    return limiter


async def slow_down(update: Update, context: Context) -> None:
    """Runs before every handler: drops a user's updates past the limit before anything
    is read, written or answered, and tells the user once, politely."""
    user = update.effective_user
    if user is None:
        return
    svc = services(context)
    limiter = _slowdown(svc)
    query = update.callback_query
    ballot = query is not None and (query.data or "").split(":", 1)[0] in BALLOT_KINDS
    if limiter.allow(user.id, ballot=ballot):
        return
    if limiter.first_refusal(user.id, ballot=ballot):
        caller = await identify(update, svc)
        if caller is not None:
            with i18n.use_locale(caller.language):
                text = t(
                    "You are sending commands too quickly. Please wait a minute and try again."
                )
                if query is not None:
                    await query.answer(strip_html(text), show_alert=True)
                else:
                    await reply(update, text)
    raise ApplicationHandlerStop


Handler = Callable[[Update, Context, Caller], Awaitable[Any]]
Callback = Callable[[Update, Context], Coroutine[Any, Any, Any]]


def action(need: Need = "anyone") -> Callable[[Handler], Callback]:
    """Resolve the caller, set the locale for this update, check the role, then run."""

    def wrap(fn: Handler) -> Callback:
        @functools.wraps(fn)
        async def inner(update: Update, context: Context) -> Any:
            svc = services(context)
            caller = await identify(update, svc)
            if caller is None:
                return None
            i18n.set_locale(caller.language)
            await _menu_once(context, svc, caller)
            refusal = _refusal(need, caller)
            if refusal is not None:
                if update.callback_query is not None:
                    await update.callback_query.answer(strip_html(refusal), show_alert=True)
                else:
                    await reply(update, refusal)
                return None
            return await fn(update, context, caller)

        return inner

    return wrap


async def _menu_once(context: Context, svc: Services, caller: Caller) -> None:
    """Chairs and the secretariat get their longer menu the first time they write."""
    if not (caller.is_secretariat or caller.is_chair):
        return
    published = svc.extras.setdefault("menus", set())
    if caller.telegram_id not in published:
        published.add(caller.telegram_id)
        from handlers import menu

        await menu.publish_for(context.application, caller)


def _refusal(need: Need, caller: Caller) -> str | None:
    if need == "anyone":
        return None
    if not caller.registered:
        return not_registered()
    if need == "secretariat" and not caller.is_secretariat:
        return t("Only the General Secretariat can do this.")
    if need in ("delegate", "chair") and not caller.is_delegate and not caller.is_secretariat:
        return t("Only delegates of a member can do this.")
    if need == "chair" and not (caller.is_chair or caller.is_secretariat):
        return t("Only the chair of the meeting can do this.")
    if need == "delegate" and not caller.is_delegate:
        return t("Secretariat accounts belong to no member and do not take part in votes.")
    return None


def not_registered() -> str:
    return t(
        "You are not registered yet. To join, open the invitation link that the General"
        " Secretariat sent you for your member capital or city. /language changes the language."
    )


def strip_html(text: str) -> str:
    return (
        re.sub(r"<[^>]+>", "", text)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")[:200]
    )


async def reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    message = update.effective_message
    if message is None:
        return
    for part in split_message(text):
        await message.reply_text(
            part,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            disable_web_page_preview=True,
            do_quote=False,
        )
        markup = None


def uneditable(exc: BadRequest) -> bool:
    """Telegram refused an edit because the message is too old or gone (not a bug of ours:
    the caller sends the content as a new message instead)."""
    text = str(exc).lower()
    return any(s in text for s in ("can't be edited", "not found", "message_id_invalid"))


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


SLOWDOWN_GROUP = -50


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # A group of its own, before every handler's (in one group only the first match runs);
    # its ApplicationHandlerStop ends the update.
    application.add_handler(TypeHandler(Update, slow_down), group=SLOWDOWN_GROUP)
