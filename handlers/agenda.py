"""/meetings (current and upcoming meetings of the caller's bodies) and /agenda (the
current meeting's items in the reader's language, with which were put to the vote and how).
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot import clock, i18n
from bot import meetings as core
from bot.app import services
from bot.i18n import Html, t
from bot.store import meetings as store
from bot.store.meetings import Meeting, Question
from handlers.common import Caller, Context, action, reply
from handlers.meetings import meeting_command, meeting_label, year


def meeting_state(meeting: Meeting) -> Html:
    if meeting.starts_at > clock.now():
        return t("Upcoming.")
    if meeting.in_session_at is not None:
        return t("In session.")
    if meeting.postponed_until is not None and meeting.reconvened_at is None:
        return t(
            "Postponed until {time}.", time=i18n.when(meeting.postponed_until, meeting.timezone)
        )
    if meeting.reconvened_at is not None:
        return t("Reconvened after its postponement; the chair calls the quorum again.")
    return t("Open; the chair has not called the quorum yet.")


def render_meeting(meeting: Meeting) -> str:
    lines = [
        f"<b>{meeting_label(meeting)}</b>",
        i18n.escape(i18n.when(meeting.starts_at, meeting.timezone)),
    ]
    if meeting.kind == "extraordinary":
        lines.append(t("Extraordinary session: it discusses only the questions on its agenda."))
    lines.append(meeting_state(meeting))
    return "\n".join(lines)


@action("registered")
async def meetings_command(update: Update, context: Context, caller: Caller) -> None:
    svc = services(context)
    found = await store.open_meetings(svc.db)
    if caller.member is not None:
        years = svc.settings.good_standing_years
        bodies = {
            body
            for body in ("gc", "council")
            if caller.member.code in (await core.body_facts(svc.db, body, year(svc), years)).seated
        }
        found = [m for m in found if m.body in bodies]
    if not found:
        await reply(update, t("No meeting of your bodies is current or planned."))
        return
    blocks: list[str] = [t("<b>Meetings</b>")]
    blocks.extend(render_meeting(m) for m in found)
    blocks.append(t("/agenda shows the agenda of the current meeting."))
    await reply(update, "\n\n".join(blocks))


def how_voted(question: Question) -> Html:
    """What became of one vote on an item: open or secret, and its outcome so far."""
    how = t("secret ballot") if question.secret else t("open vote")
    outcome = question.outcome or ""
    if question.withdrawn_at is not None:
        outcome = "withdrawn"
    elif question.closed_at is None:
        outcome = "open"
    text = {
        "open": t("🗳 vote open ({how})", how=how),
        "adopted": t("✅ adopted ({how})", how=how),
        "rejected": t("❌ rejected ({how})", how=how),
        "withdrawn": t("↩️ withdrawn by the chair ({how})", how=how),
        "pending": t("⚖️ tied, waiting for the chair's casting vote ({how})", how=how),
    }.get(outcome)
    return text or Html(how)


@meeting_command("agenda", "registered")
async def agenda(
    update: Update, context: Context, caller: Caller, meeting: Meeting, args: list[str]
) -> None:
    svc = services(context)
    items = await store.agenda(svc.db, meeting.id)
    votes: dict[str, list[Question]] = {}
    for question in await store.questions_of(svc.db, meeting.id):
        if question.kind == "resolution" and question.item is not None:
            votes.setdefault(question.item, []).append(question)
    lines = [f"<b>{meeting_label(meeting)}</b>", t("Agenda:")]
    if not items:
        lines.append(t("The agenda has no items yet."))
    for item in items:
        line = f"<b>{i18n.escape(item.item)}.</b> {i18n.escape(item.title(caller.language))}"
        found = votes.get(item.item, [])
        status = [how_voted(q) for q in found] or [t("not put to the vote yet")]
        lines.append(f"{line}\n    " + "; ".join(status))
    if meeting.kind == "extraordinary":
        lines.append(t("Extraordinary session: it discusses only the questions on its agenda."))
    await reply(update, "\n".join(lines))


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("meetings", meetings_command, private))
    application.add_handler(CommandHandler("agenda", agenda, private))
