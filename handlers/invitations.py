"""/invite and /revoke for the secretariat, and reminders of invitations about to expire."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot import clock, i18n, invitations, outbox
from bot.app import Services, services
from bot.i18n import t
from bot.store import people, registry
from handlers.common import Caller, Context, action, identify_id, reply


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
        # TRANSLATORS: {who} is a member city or "the General Secretariat"; {role} is
        # delegate, chair or secretariat; {expires} a date; {link} the invitation link.
        t(
            "Invitation for {who} ({role}), valid until {expires}. Send this link to the person, and to nobody else; it works once:\n{link}",
            who=who,
            role=role_name(role),
            expires=i18n.day(issued.expires_at, svc.settings.timezone),
            link=issued.link,
        ),
    )


def role_name(role: str) -> str:
    # TRANSLATORS: roles of an account, shown in brackets after a name.
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


REMIND_BEFORE = timedelta(days=2)
REMIND_EVERY = timedelta(hours=6)


async def remind_expiring(svc: Services) -> int | None:
    """Tell the secretariat, once per invitation, which unused ones expire within two days
    (the invitee has no Telegram account with us yet, so the secretariat is who can act).
    Returns the notice id, or None when there was nothing to say."""
    now = clock.now()
    expiring = await people.take_expiring(svc.db, now, now + REMIND_BEFORE)
    if not expiring:
        return None
    members = {m.code: m for m in await registry.members(svc.db)}
    messages = []
    for telegram_id in await people.secretariat_ids(svc.db, svc.settings.secretariat_ids):
        who = await identify_id(svc, telegram_id)
        with i18n.use_locale(who.language):
            lines = [
                i18n.tn(
                    "⏰ {n} unused invitation expires within two days:",
                    "⏰ {n} unused invitations expire within two days:",
                    len(expiring),
                )
            ]
            for invitation in expiring:
                member = members.get(invitation.member or "")
                lines.append(
                    # TRANSLATORS: an unused invitation; {expires} is a date.
                    t(
                        "• {who} ({role}), until {expires}",
                        who=member.name(who.language) if member else t("the General Secretariat"),
                        role=role_name(invitation.role),
                        expires=i18n.day(invitation.expires_at, svc.settings.timezone),
                    )
                )
            lines.append(t("Send a new invitation with /invite if the person still needs one."))
        messages.append(outbox.Outgoing(telegram_id, who.language, "\n".join(lines)))
    if not messages:
        return None
    return await outbox.queue(svc.db, "reminder", messages, ref="invitations", actor="bot")


async def _reminder_job(context: Context) -> None:
    await remind_expiring(services(context))


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    queue = application.job_queue
    assert queue is not None
    queue.run_repeating(
        _reminder_job, interval=REMIND_EVERY, first=timedelta(seconds=30), name="reminders"
    )
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("invite", invite, private))
    application.add_handler(CommandHandler("revoke", revoke, private))
