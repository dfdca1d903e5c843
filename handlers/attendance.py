"""Attendance by hand (secretariat): /present MEMBER [reason] and /absent MEMBER [reason].

For a member city whose delegate has no phone or no Telegram. The meeting is asked for with
buttons when two current meetings seat the member, and the reason when none was given; the
pending marking waits in the drafts table, not in memory.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import callbacks, i18n
from bot import meetings as core
from bot.app import Services, services
from bot.i18n import t
from bot.registry import Member, normalize_code
from bot.store import registry
from bot.store import session as store
from bot.store.meetings import Meeting
from bot.usecases import attendance_marks as usecase
from handlers.common import Caller, Context, action, keyboard, reply
from handlers.meetings import meeting_label, year

REASON_MAX = 200
PENDING_SECONDS = 15 * 60
# Before the handlers of group 0 (the notice composer's text, the fallback): a reason typed
# for a pending marking is taken here and goes no further.
REASON_GROUP = -1


async def _seated_meetings(svc: Services, member: str) -> list[Meeting]:
    return await core.current_meetings(svc.db, member, year(svc), svc.settings.good_standing_years)


async def _start(update: Update, context: Context, caller: Caller, present: bool) -> None:
    svc = services(context)
    await store.take_pending(svc.db, caller.telegram_id, 0)  # a new command replaces it
    args = context.args or []
    if not args:
        await reply(
            update,
            t("Usage: /present MEMBER [reason]")
            if present
            else t("Usage: /absent MEMBER [reason]"),
        )
        return
    member = await registry.get_member(svc.db, normalize_code(args[0]))
    if member is None:
        await reply(update, t("There is no member with the code {code}.", code=args[0][:40]))
        return
    reason = " ".join(args[1:]).strip()[:REASON_MAX]
    found = await _seated_meetings(svc, member.code)
    if not found:
        await reply(
            update,
            t(
                "There is no current meeting of a body {member} sits in.",
                member=member.name(caller.language),
            ),
        )
        return
    pending = {"member": member.code, "present": present, "reason": reason, "meeting": None}
    if len(found) > 1:
        await store.save_pending(svc.db, caller.telegram_id, pending)
        rows = [
            [
                (
                    i18n.visible(meeting_label(m))[:60],
                    callbacks.make("att", "p" if present else "a", m.id),
                )
            ]
            for m in found
        ]
        await reply(update, t("Two meetings are current. Which one?"), keyboard(rows))
        return
    await _go_on(update, svc, caller, member, found[0], present, reason)


async def _go_on(
    update: Update,
    svc: Services,
    caller: Caller,
    member: Member,
    meeting: Meeting,
    present: bool,
    reason: str,
) -> None:
    """The meeting is known: ask for the reason if there is none, else mark."""
    if reason:
        await _mark(update, svc, caller, member, meeting, present, reason)
        return
    await store.save_pending(
        svc.db,
        caller.telegram_id,
        {"member": member.code, "present": present, "reason": "", "meeting": meeting.id},
    )
    name = member.name(caller.language)
    label = meeting_label(meeting)
    await reply(
        update,
        t(
            "Why is {member} marked present at {meeting}? Send the reason in one message, for example: its delegate has no phone.",
            member=name,
            meeting=label,
        )
        if present
        else t(
            "Why is {member} marked absent from {meeting}? Send the reason in one message.",
            member=name,
            meeting=label,
        ),
    )


async def _mark(
    update: Update,
    svc: Services,
    caller: Caller,
    member: Member,
    meeting: Meeting,
    present: bool,
    reason: str,
) -> None:
    facts = await core.body_facts(svc.db, meeting.body, year(svc), svc.settings.good_standing_years)
    outcome = await usecase.mark(
        svc.db,
        meeting.id,
        member.code,
        present,
        reason,
        seated=facts.seated,
        actor_id=caller.telegram_id,
    )
    name = member.name(caller.language)
    label = meeting_label(meeting)
    if isinstance(outcome, usecase.AttendanceRefused):
        if outcome.reason == "meeting_closed":
            text = t("This meeting is not current any more.")
        elif outcome.reason == "not_seated":
            text = t("{member} does not sit in {meeting}.", member=name, meeting=label)
        elif present and outcome.marked_by == "secretariat":
            text = t("{member} is already marked present by the General Secretariat.", member=name)
        elif present:
            text = t("{member} is already checked in by its delegate.", member=name)
        else:
            text = t("{member} is not checked in.", member=name)
        await reply(update, text)
        return
    if not present:
        await reply(
            update,
            "\n".join(
                [
                    t(
                        "{member} is marked absent from {meeting}. Reason: {reason}",
                        member=name,
                        meeting=label,
                        reason=reason,
                    ),
                    t(
                        "It no longer counts for the quorum and is not on the roll of votes opened from now on; a vote already open keeps its roll."
                    ),
                ]
            ),
        )
        return
    lines = [
        t(
            "✅ {member} is marked present at {meeting} by the General Secretariat. Reason: {reason}",
            member=name,
            meeting=label,
            reason=reason,
        )
    ]
    if member.code in facts.voting:
        lines.append(
            t(
                "It counts for the quorum and is on the roll of every vote opened while it is present. It votes only through the accounts of its own delegates: nobody else can vote for it, the General Secretariat included."
            )
        )
        lines.append(
            t(
                "⚠️ A member on the roll that does not vote counts against adoption: a resolution needs yes votes from more than half of the roll."
            )
        )
        if outcome.delegates == 0:
            lines.append(
                t(
                    "{member} has no delegate with a Telegram account, so it cannot vote: its silence will count against adoption. /invite {code} invites one.",
                    member=name,
                    code=member.code,
                )
            )
    elif meeting.body == "gc":
        lines.append(
            t(
                "{member} holds no voting right, because its dues are not fully paid: it attends but cannot vote, and it does not count toward the quorum.",
                member=name,
            )
        )
    else:
        lines.append(
            t(
                "{member} holds no voting right, because its dues are not fully paid: it counts toward the council's quorum but cannot vote.",
                member=name,
            )
        )
    if outcome.late_for is not None:
        lines.append(
            t(
                "A vote is open. Its roll was fixed when it opened, so {member} cannot vote on it; it can vote on the next one.",
                member=name,
            )
        )
    await reply(update, "\n".join(lines))


@action("secretariat")
async def present(update: Update, context: Context, caller: Caller) -> None:
    await _start(update, context, caller, True)


@action("secretariat")
async def absent(update: Update, context: Context, caller: Caller) -> None:
    await _start(update, context, caller, False)


@action("secretariat")
async def meeting_picked(update: Update, context: Context, caller: Caller) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    svc = services(context)
    parsed = callbacks.parse(query.data)
    pending = await store.take_pending(svc.db, caller.telegram_id, PENDING_SECONDS)
    present = parsed is not None and parsed.args[0] == "p"
    if (
        parsed is None
        or pending is None
        or pending.get("meeting") is not None
        or pending.get("present") is not present
    ):
        await reply(update, t("This button is not valid any more."))
        return
    member = await registry.get_member(svc.db, str(pending.get("member")))
    meeting = next(
        (
            m
            for m in await _seated_meetings(svc, member.code if member else "")
            if str(m.id) == parsed.args[1]
        ),
        None,
    )
    if member is None or meeting is None:
        await reply(update, t("This meeting is not current any more."))
        return
    await _go_on(update, svc, caller, member, meeting, present, str(pending.get("reason", "")))


async def reason_typed(update: Update, context: Context) -> None:
    """Plain text from someone with a marking waiting for its reason: that is the reason."""
    user = update.effective_user
    if user is None or not await store.has_pending(services(context).db, user.id):
        return
    await take_reason(update, context)
    raise ApplicationHandlerStop


@action("secretariat")
async def take_reason(update: Update, context: Context, caller: Caller) -> None:
    svc = services(context)
    message = update.effective_message
    pending = await store.take_pending(svc.db, caller.telegram_id, PENDING_SECONDS)
    if pending is None or pending.get("meeting") is None or message is None:
        await reply(update, t("Nothing is waiting for a reason. Use /present or /absent."))
        return
    reason = (message.text or "").strip()[:REASON_MAX]
    member = await registry.get_member(svc.db, str(pending.get("member")))
    found = await _seated_meetings(svc, member.code if member else "")
    meeting = next((m for m in found if m.id == pending.get("meeting")), None)
    if member is None or meeting is None:
        await reply(update, t("This meeting is not current any more."))
        return
    if not reason:
        await _go_on(update, svc, caller, member, meeting, bool(pending.get("present")), "")
        return
    await _mark(update, svc, caller, member, meeting, bool(pending.get("present")), reason)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("present", present, private))
    application.add_handler(CommandHandler("absent", absent, private))
    application.add_handler(CallbackQueryHandler(meeting_picked, pattern=r"^att:[pa]:\d+$"))
    application.add_handler(
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, reason_typed),
        group=REASON_GROUP,
    )
