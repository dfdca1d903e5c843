"""/delegates and /unbind (secretariat): who speaks for a member, and a lost phone."""

from __future__ import annotations

import logging
from typing import Any

from telegram import BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, filters

from bot import callbacks, i18n
from bot.app import services
from bot.i18n import Html, t, tn
from bot.registry import Member, normalize_code
from bot.store import registry
from bot.store.delegates import Delegate, delegates
from bot.usecases import delegates as usecase
from handlers.common import Caller, Context, action, reply
from handlers.invitations import role_name

log = logging.getLogger(__name__)


def describe(delegate: Delegate, timezone: str) -> Html:
    """One account: its name as Telegram gave it, the id /unbind takes, role and joining."""
    name = delegate.first_name or "—"
    if delegate.username:
        name = f"{name} (@{delegate.username})"
    joined = i18n.day(delegate.joined_at, timezone) if delegate.joined_at else "—"
    return t(
        "• {name}: {role}, Telegram id <code>{id}</code>, joined {joined}",
        name=name,
        role=role_name(delegate.role),
        id=delegate.telegram_id,
        joined=joined,
    )


def render_member(member: Member, found: list[Delegate], language: str, timezone: str) -> str:
    lines = [f"<b>{i18n.escape(member.name(language))}</b> ({i18n.escape(member.code)})"]
    if not found:
        lines.append(t("No delegate yet: /invite {code}", code=member.code))
    lines.extend(describe(d, timezone) for d in found)
    return "\n".join(lines)


@action("secretariat")
async def delegates_command(update: Update, context: Context, caller: Caller) -> None:
    svc = services(context)
    args = context.args or []
    if len(args) > 1:
        await reply(update, t("Usage: /delegates, or /delegates MEMBER"))
        return
    timezone = svc.settings.timezone
    if args:
        member = await registry.get_member(svc.db, normalize_code(args[0]))
        if member is None:
            await reply(update, t("There is no member with the code {code}.", code=args[0][:40]))
            return
        found = await delegates(svc.db, member.code)
        await reply(update, render_member(member, found, caller.language, timezone))
        return
    by_member: dict[str, list[Delegate]] = {}
    for delegate in await delegates(svc.db):
        by_member.setdefault(delegate.member or "", []).append(delegate)
    members = await registry.members(svc.db)
    blocks = [
        render_member(m, by_member[m.code], caller.language, timezone)
        for m in members
        if m.code in by_member
    ]
    without = [m.code for m in members if m.active and m.code not in by_member]
    lines: list[str] = [t("<b>Who speaks for each member</b>")]
    lines.extend(blocks or [t("No member has a delegate yet.")])
    if without:
        lines.append(
            tn(
                "{n} active member has no delegate yet: {members}",
                "{n} active members have no delegate yet: {members}",
                len(without),
                members=", ".join(without),
            )
        )
    lines.append(t("/unbind TELEGRAM_ID unbinds an account, for example a lost phone."))
    await reply(update, "\n\n".join(lines))


@action("secretariat")
async def unbind(update: Update, context: Context, caller: Caller) -> None:
    svc = services(context)
    args = context.args or []
    telegram_id = callbacks.parse_id(args[0]) if len(args) == 1 else None
    if telegram_id is None:
        await reply(update, t("Usage: /unbind TELEGRAM_ID (the id that /delegates MEMBER shows)."))
        return
    outcome = await usecase.unbind(svc.db, telegram_id, actor_id=caller.telegram_id)
    if isinstance(outcome, usecase.UnbindRefused):
        if outcome.reason == "secretariat_account":
            text = t(
                "The account {id} is a secretariat account: it speaks for no member.",
                id=telegram_id,
            )
        else:
            text = t("No delegate's account has the Telegram id {id}.", id=telegram_id)
        await reply(update, text)
        return
    await _forget_menu(context, telegram_id, outcome.role)
    member = await registry.get_member(svc.db, outcome.member)
    name = member.name(caller.language) if member else outcome.member
    others = len(await delegates(svc.db, outcome.member))
    await reply(
        update,
        "\n".join(
            [
                t(
                    "The account {id} ({name}) no longer speaks for {member}. Its ballot buttons no longer work; a vote it already cast stays.",
                    id=telegram_id,
                    name=outcome.first_name or "—",
                    member=name,
                ),
                tn(
                    "{member} keeps {n} other delegate.",
                    "{member} keeps {n} other delegates.",
                    others,
                    member=name,
                ),
                t(
                    "A new phone joins with a new invitation: /invite {code}",
                    code=outcome.member,
                ),
            ]
        ),
    )


async def _forget_menu(context: Context, telegram_id: int, role: str) -> None:
    """A chair's longer menu goes with the role."""
    published = services(context).extras.get("menus")
    if isinstance(published, set):
        published.discard(telegram_id)
    if role != "chair":
        return
    try:
        await context.bot.delete_my_commands(scope=BotCommandScopeChat(telegram_id))
    except TelegramError as exc:
        log.info("menu of %s not removed: %s", telegram_id, exc)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("delegates", delegates_command, private))
    application.add_handler(CommandHandler("unbind", unbind, private))
