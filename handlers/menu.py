"""The command menu, per language and per role, and the help that lists it."""

from __future__ import annotations

import logging
from typing import Any

from telegram import BotCommand, BotCommandScopeChat
from telegram.error import TelegramError
from telegram.ext import Application

from bot import i18n
from bot.app import services
from bot.i18n import N_, t
from bot.store import people
from handlers.common import Caller

log = logging.getLogger(__name__)

# (command, description, who): who is "anyone", "delegate", "chair" or "secretariat".
COMMANDS: list[tuple[str, str, str]] = [
    ("help", N_("what you can do"), "anyone"),
    ("language", N_("choose your language"), "anyone"),
    ("checkin", N_("check your member in to the current meeting"), "delegate"),
    ("checkout", N_("check your member out"), "delegate"),
    ("quorum", N_("attendance and quorum of the current meeting"), "delegate"),
    ("quorum", N_("attendance and quorum of the current meeting"), "secretariat"),
    ("vote", N_("ballots waiting for your member's vote"), "delegate"),
    ("meetings", N_("current and upcoming meetings"), "delegate"),
    ("meetings", N_("current and upcoming meetings"), "secretariat"),
    ("agenda", N_("the agenda of the current meeting and its votes"), "delegate"),
    ("agenda", N_("the agenda of the current meeting and its votes"), "secretariat"),
    ("results", N_("the latest result, or /results ID"), "delegate"),
    ("results", N_("the latest result, or /results ID"), "secretariat"),
    ("dues", N_("your member's dues and voting right"), "delegate"),
    ("request_session", N_("request or sign an extraordinary session"), "delegate"),
    ("approve_session", N_("approve a request: /approve_session ID"), "delegate"),
    ("requests", N_("requests for extraordinary sessions"), "delegate"),
    ("requests", N_("requests for extraordinary sessions"), "secretariat"),
    ("call_quorum", N_("call the quorum (chair)"), "chair"),
    ("motion", N_("open a vote: /motion ITEM [secret] [MINUTES] (chair)"), "chair"),
    ("election", N_("open an election or its next round: /election ID [MINUTES] (chair)"), "chair"),
    ("turnout", N_("the live turnout of the open vote (chair)"), "chair"),
    ("remind", N_("remind those who have not voted (chair)"), "chair"),
    ("close", N_("close the open vote and count it (chair)"), "chair"),
    ("withdraw", N_("withdraw the open vote without counting it (chair)"), "chair"),
    ("announce", N_("send the latest result to the body (chair)"), "chair"),
    ("adjourn", N_("close the meeting (chair)"), "chair"),
    ("present", N_("mark a member present by hand: /present MEMBER [reason]"), "secretariat"),
    ("absent", N_("mark a member absent by hand: /absent MEMBER [reason]"), "secretariat"),
    ("dues", N_("a member's dues: /dues MEMBER"), "secretariat"),
    ("arrears", N_("members in arrears"), "secretariat"),
    ("paid", N_("record a payment: /paid MEMBER YEAR FUND AMOUNT"), "secretariat"),
    ("invite", N_("invite a delegate: /invite MEMBER [chair]"), "secretariat"),
    ("revoke", N_("revoke a member's unused invitations: /revoke MEMBER"), "secretariat"),
    ("delegates", N_("who speaks for a member: /delegates [MEMBER]"), "secretariat"),
    (
        "unbind",
        N_("unbind a delegate's account, e.g. a lost phone: /unbind TELEGRAM_ID"),
        "secretariat",
    ),
    ("notice", N_("send a notice to delegates, with a text per language"), "secretariat"),
]


def _allowed(who: str, caller: Caller | None) -> bool:
    if who == "anyone":
        return True
    if caller is None:
        return who == "delegate"  # the default menu is the delegates' one
    if who == "secretariat":
        return caller.is_secretariat
    if who == "chair":
        return caller.is_chair or caller.is_secretariat
    return caller.is_delegate


def commands_for(caller: Caller | None) -> list[tuple[str, str]]:
    """The commands this caller may use, each once, with an untranslated description."""
    chosen: dict[str, str] = {}
    for command, description, who in COMMANDS:
        if _allowed(who, caller) and (command not in chosen or who != "delegate"):
            chosen[command] = description
    return list(chosen.items())


def _bot_commands(caller: Caller | None) -> list[BotCommand]:
    return [BotCommand(command, str(t(text))[:256]) for command, text in commands_for(caller)]


async def publish(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """The delegates' menu in each language, and the longer one for the secretariat.

    The menu is a convenience: if Telegram refuses it, the bot says so in the log and runs
    without it (every command still works when typed)."""
    bot = application.bot
    try:
        for language in i18n.LANGUAGES:
            with i18n.use_locale(language):
                await bot.set_my_commands(_bot_commands(None), language_code=language)
        with i18n.use_locale(i18n.DEFAULT):
            await bot.set_my_commands(_bot_commands(None))
    except TelegramError as exc:
        log.warning("the command menu could not be published (setMyCommands: %s)", exc)
        return
    svc = services(application)
    ids = {a.telegram_id for a in await people.registered(svc.db) if a.role != "delegate"}
    # An id of SECRETARIAT_IDS that never wrote to the bot has no chat yet (Telegram would
    # answer "chat not found"): its menu is set when it first writes (common._menu_once).
    for telegram_id in svc.settings.secretariat_ids:
        if await people.account(svc.db, telegram_id) is not None:
            ids.add(telegram_id)
    from handlers.common import identify_id

    for telegram_id in sorted(ids):
        caller = await identify_id(svc, telegram_id)
        await publish_for(application, caller)


async def publish_for(
    application: Application[Any, Any, Any, Any, Any, Any], caller: Caller
) -> None:
    """A chat-scoped menu for chairs and the secretariat, in their language."""
    if not (caller.is_secretariat or caller.is_chair):
        return
    with i18n.use_locale(caller.language):
        commands = _bot_commands(caller)
    try:
        await application.bot.set_my_commands(
            commands, scope=BotCommandScopeChat(caller.telegram_id)
        )
    except TelegramError as exc:  # e.g. a secretariat id that never opened the bot
        log.info("menu not set for %s: %s", caller.telegram_id, exc)
