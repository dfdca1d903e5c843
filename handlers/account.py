"""Joining with an invitation, choosing a language, and help."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot import callbacks, clock, i18n, invitations
from bot.app import services
from bot.i18n import N_, t
from bot.store import people, registry
from handlers import menu
from handlers.common import Caller, Context, action, identify, keyboard, not_registered, reply


@action()
async def start(update: Update, context: Context, caller: Caller) -> None:
    svc = services(context)
    args = context.args or []
    if not args:
        await reply(update, welcome(caller) if caller.registered else not_registered())
        return
    code = args[0]
    now = clock.now()
    found = (
        await people.find_invitation(svc.db, code) if invitations.looks_like_code(code) else None
    )
    state = invitations.status(found, now)
    if caller.registered:
        await reply(
            update,
            t(
                "This Telegram account is already registered; an account belongs to one member only. The invitation was not used."
            ),
        )
        return
    if state != "valid":
        await reply(update, _refused(state))
        return
    user = update.effective_user
    assert user is not None
    try:
        used = await people.redeem(svc.db, code, user.id, user.first_name, user.username, now)
    except people.AlreadyRegistered:
        used = None
    if used is None:
        # Lost a race with another account, or the code expired in between.
        state = invitations.status(await people.find_invitation(svc.db, code), clock.now())
        await reply(update, _refused(state if state != "valid" else "used"))
        return
    caller = await identify(update, svc) or caller
    await menu.publish_for(context.application, caller)
    if used.role == "secretariat":
        await reply(
            update,
            t("Welcome. You are registered with the General Secretariat.")
            + "\n\n"
            + help_text(caller),
        )
        return
    member = await registry.get_member(svc.db, used.member or "")
    name = member.name(caller.language) if member else used.member
    if used.role == "chair":
        text = t(
            "Welcome. You are registered as a delegate of {member}, with the chair role.",
            member=name,
        )
    else:
        text = t("Welcome. You are registered as a delegate of {member}.", member=name)
    await reply(update, text + "\n\n" + help_text(caller))


def _refused(state: str) -> str:
    if state == "used":
        return t(
            "This invitation has already been used. Ask the General Secretariat for a new one."
        )
    if state == "expired":
        return t("This invitation has expired. Ask the General Secretariat for a new one.")
    if state == "revoked":
        return t("This invitation has been revoked. Ask the General Secretariat for a new one.")
    return t(
        "This invitation code is not valid. Check the link, or ask the General Secretariat for a new one."
    )


def welcome(caller: Caller) -> str:
    if caller.member is not None:
        head = t("You are a delegate of {member}.", member=caller.member.name(caller.language))
    else:
        head = t("You are registered with the General Secretariat.")
    return head + "\n\n" + help_text(caller)


def help_text(caller: Caller) -> str:
    lines: list[str] = [t("<b>What you can do</b>")]
    for command, description in menu.commands_for(caller):
        # An Arabic line starting with "/command" is marked right to left (RLM), or clients
        # that choose the direction per line would show it left to right.
        lines.append(i18n.rtl_line(f"/{command}: {t(description)}"))
    return "\n".join(lines)


@action()
async def help_command(update: Update, context: Context, caller: Caller) -> None:
    await reply(update, help_text(caller) if caller.registered else not_registered())


LANGUAGE_PROMPT = N_("Choose your language:")


@action()
async def language(update: Update, context: Context, caller: Caller) -> None:
    args = context.args or []
    if args:
        chosen = i18n.normalize_language(args[0])
        if chosen is None or len(args) > 1:
            await reply(
                update, t("Unknown language. Use /language ar, /language en or /language fr.")
            )
            return
        await _set_language(update, context, caller, chosen)
        return
    rows = [[(i18n.LANGUAGE_NAMES[code], callbacks.make("lang", code)) for code in i18n.LANGUAGES]]
    await reply(update, t(LANGUAGE_PROMPT), keyboard(rows))


@action()
async def language_button(update: Update, context: Context, caller: Caller) -> None:
    query = update.callback_query
    assert query is not None
    parsed = callbacks.parse(query.data)
    chosen = i18n.normalize_language(parsed.args[0]) if parsed else None
    if chosen is None:
        await query.answer(t("This button is not valid."), show_alert=True)
        return
    await query.answer()
    await _set_language(update, context, caller, chosen)


async def _set_language(update: Update, context: Context, caller: Caller, chosen: str) -> None:
    svc = services(context)
    if caller.account is None and not caller.is_secretariat:
        # Nothing is stored about people who have not joined: the choice applies to this
        # answer, which tells them how to join.
        with i18n.use_locale(chosen):
            await reply(update, not_registered())
        return
    await people.set_language(svc.db, caller.telegram_id, chosen)
    i18n.set_locale(chosen)
    caller = await identify(update, svc) or caller
    await menu.publish_for(context.application, caller)
    await reply(update, t("Language set to English."))


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CommandHandler("start", start, filters.ChatType.PRIVATE))
    application.add_handler(CommandHandler("help", help_command, filters.ChatType.PRIVATE))
    application.add_handler(CommandHandler("language", language, filters.ChatType.PRIVATE))
    application.add_handler(CallbackQueryHandler(language_button, pattern=r"^lang:[a-z]{2}$"))
