"""The one error handler: log the failure with ids only, tell the user in their language."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update, User
from telegram.error import RetryAfter, TelegramError
from telegram.ext import Application

from bot import i18n
from bot.app import BotApiRequest, services
from bot.i18n import t
from handlers.common import Context, identify_id

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    if isinstance(context.error, RetryAfter):
        # Telegram's flood control, after the rate limiter's own retries: the reply is
        # lost, and telling the user would only add to the flood.
        log.warning("Telegram asked to slow down (%s); a reply was dropped", context.error)
        return
    if not isinstance(update, Update):
        log.error("error outside an update", exc_info=context.error)
        return
    user = update.effective_user
    log.error(
        "error handling update %s from user %s",
        update.update_id,
        user.id if user else None,
        exc_info=context.error,
    )
    # The failure may have come before the handler set the user's language.
    i18n.set_locale(await _language(context, user))
    text = t(
        "Something went wrong on our side. Please try again; if it happens again, tell the General Secretariat."
    )
    try:
        query = update.callback_query
        if query is not None and not _answered(context, query.id):
            if await query.answer(text, show_alert=True):
                return
        # The press was answered before the failure: say it in the chat instead.
        if update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, text, parse_mode="HTML")
    except TelegramError:
        log.warning("could not tell user %s about the error", user.id if user else None)
    finally:
        i18n.set_locale(i18n.DEFAULT)


def _answered(context: Context, query_id: str) -> bool:
    request = context.bot.request
    return isinstance(request, BotApiRequest) and request.answered(query_id)


async def _language(context: Context, user: User | None) -> str:
    """The user's chosen language, else Telegram's, else the default: the database may be
    what failed."""
    if user is None:
        return i18n.DEFAULT
    try:
        return (await identify_id(services(context), user.id)).language
    except Exception:
        return i18n.language_from_telegram(user.language_code)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_error_handler(on_error)
