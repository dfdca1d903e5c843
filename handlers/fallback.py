"""Anything no other handler took: unknown commands, plain text, stale or forged buttons."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot.i18n import t
from handlers.common import Caller, Context, action, not_registered, reply


@action()
async def unknown_command(update: Update, context: Context, caller: Caller) -> None:
    if not caller.registered:
        await reply(update, not_registered())
        return
    await reply(update, t("I do not know this command. Send /help to see what you can do."))


@action()
async def text(update: Update, context: Context, caller: Caller) -> None:
    if not caller.registered:
        await reply(update, not_registered())
        return
    await reply(
        update, t("I only understand commands and buttons. Send /help to see what you can do.")
    )


@action()
async def unknown_button(update: Update, context: Context, caller: Caller) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(t("This button is not valid any more."), show_alert=True)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(MessageHandler(private & filters.COMMAND, unknown_command))
    application.add_handler(
        MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, text)
    )
    application.add_handler(CallbackQueryHandler(unknown_button))
