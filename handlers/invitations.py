"""/invite and /revoke for the secretariat."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot import i18n, invitations
from bot.app import services
from bot.i18n import t
from bot.store import people, registry
from handlers.common import Caller, Context, action, reply


@action("secretariat")
async def invite(update: Update, context: Context, caller: Caller) -> None:
    svc = services(context)
    args = context.args or []
    if not 1 <= len(args) <= 2:
        await reply(update, t("Usage: /invite MEMBER [delegate|chair], or /invite secretariat"))
        return
    try:
        member_code, role = invitations.parse_target(args[0], args[1] if len(args) > 1 else None)
    except ValueError:
        await reply(
            update,
            t(
                "The role must be delegate or chair. Usage: /invite MEMBER [delegate|chair], or /invite secretariat"
            ),
        )
        return
    member = await registry.get_member(svc.db, member_code) if member_code else None
    if member_code and member is None:
        await reply(update, t("There is no member with the code {code}.", code=args[0][:40]))
        return
    issued = await people.issue_invitation(
        svc.db, context.bot.username, member_code, role, actor_id=caller.telegram_id
    )
    who = member.name(caller.language) if member else t("the General Secretariat")
    await reply(
        update,
        t(
            "Invitation for {who} ({role}), valid until {expires}. Send this link to the person, and to nobody else; it works once:\n{link}",
            who=who,
            role=role_name(role),
            expires=i18n.day(issued.expires_at, svc.settings.timezone),
            link=issued.link,
        ),
    )


def role_name(role: str) -> str:
    return {"chair": t("chair"), "secretariat": t("secretariat")}.get(role, t("delegate"))


@action("secretariat")
async def revoke(update: Update, context: Context, caller: Caller) -> None:
    svc = services(context)
    args = context.args or []
    if len(args) != 1:
        await reply(update, t("Usage: /revoke MEMBER"))
        return
    try:
        member_code, _ = invitations.parse_target(args[0], None)
    except ValueError:
        member_code = None
    if member_code and await registry.get_member(svc.db, member_code) is None:
        await reply(update, t("There is no member with the code {code}.", code=args[0][:40]))
        return
    count = await people.revoke_invitations(svc.db, member_code, actor_id=caller.telegram_id)
    await reply(
        update, i18n.tn("{n} unused invitation revoked.", "{n} unused invitations revoked.", count)
    )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("invite", invite, private))
    application.add_handler(CommandHandler("revoke", revoke, private))
