"""Vote deadlines and reminders: the jobs that remind roll members and tell the chair at
the deadline (scheduled again at start, so they survive a restart), /remind and /turnout.

A deadline never closes a vote by itself (SPEC): only the chair's /close does.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from babel.dates import format_time
from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot import clock, i18n
from bot.app import Services, services
from bot.i18n import Html, t
from bot.store import meetings as meetings_store
from bot.store import registry
from bot.store.meetings import Meeting, Question
from bot.usecases import deadlines as usecase
from handlers.common import Caller, Context, identify_id, reply
from handlers.meetings import meeting_command, meeting_label

log = logging.getLogger(__name__)

MINUTES_MAX = 24 * 60


def parse_minutes(text: str) -> float | None:
    """A deadline in minutes from now: a positive number (decimals allowed), at most a day."""
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return None
    return value if 0 < value <= MINUTES_MAX else None


def looks_like_minutes(text: str) -> bool:
    return text.replace(",", ".").replace(".", "", 1).lstrip("-").isdigit()


def plan(svc: Services, text: str) -> usecase.DeadlinePlan | None:
    """The chair's MINUTES as a deadline, with the reminder the settings ask for."""
    minutes = parse_minutes(text)
    if minutes is None:
        return None
    return usecase.DeadlinePlan(minutes, svc.settings.reminder_minutes)


def bad_minutes() -> str:
    return t(
        "The deadline must be a number of minutes from now, more than 0 and at most {max}. Nothing was opened.",
        max=i18n.number(MINUTES_MAX),
    )


async def schedule_for(context: Context, question: int) -> None:
    """After a vote opened: its deadline's jobs, if it has one."""
    found = await usecase.deadline_of(services(context).db, question)
    if found is not None:
        schedule(context.application, question, found.deadline_at, found.remind_at)


async def deadline_line(svc: Services, question: Question) -> Html | None:
    """For the chair's turnout message: when the deadline is, or that it has passed."""
    found = await usecase.deadline_of(svc.db, question.id)
    if found is None or question.closed_at is not None:
        return None
    meeting = await meetings_store.get_meeting(svc.db, question.meeting)
    zone = meeting.timezone if meeting else svc.settings.timezone
    when = clock_time(found.deadline_at, zone)
    if found.deadline_at <= clock.now():
        return t("Deadline {time} passed; the vote stays open until /close.", time=when)
    return t("Deadline {time}; the vote stays open until /close.", time=when)


def clock_time(moment: datetime, timezone: str) -> str:
    return format_time(moment.astimezone(ZoneInfo(timezone)), "HH:mm", locale=i18n.current())


async def _title(svc: Services, question: Question, language: str) -> str:
    from handlers.votes import question_title

    return await question_title(svc.db, question, language)


async def reminder_texts(
    svc: Services, question: Question, meeting: Meeting, deadline: datetime | None
) -> dict[str, str]:
    texts = {}
    for language in i18n.LANGUAGES:
        with i18n.use_locale(language):
            lines = [
                f"⏰ <b>{meeting_label(meeting)}</b>",
                await _title(svc, question, language),
                t("The member you represent has not voted yet on this question."),
            ]
            if deadline is not None:
                lines.append(
                    t(
                        "The chair has set the deadline at {time}.",
                        time=clock_time(deadline, meeting.timezone),
                    )
                )
            lines.append(t("/vote shows the ballot again."))
            texts[language] = "\n".join(lines)
    return texts


# --- the jobs ------------------------------------------------------------------------------


def schedule(
    application: Application[Any, Any, Any, Any, Any, Any],
    question: int,
    deadline_at: datetime,
    remind_at: datetime | None,
) -> None:
    """Run the reminder and the chair's notice on time (overdue ones at once)."""
    queue = application.job_queue
    assert queue is not None
    now = clock.now()
    jobs = [(f"deadline:{question}", deadline_at, _deadline_job)]
    if remind_at is not None:
        jobs.append((f"remind:{question}", remind_at, _remind_job))
    for name, when, callback in jobs:
        for job in queue.get_jobs_by_name(name):
            job.schedule_removal()
        queue.run_once(callback, when=max(when, now), data=question, name=name)


async def resume(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """At start: every deadline still due is scheduled again."""
    svc = services(application)
    for found in await usecase.pending(svc.db):
        schedule(
            application,
            found.question,
            found.deadline_at,
            found.remind_at if found.reminded_at is None else None,
        )


async def _question_and_meeting(svc: Services, question_id: int) -> tuple[Question, Meeting] | None:
    question = await meetings_store.get_question(svc.db, question_id)
    if question is None or question.closed_at is not None:
        return None
    meeting = await meetings_store.get_meeting(svc.db, question.meeting)
    return (question, meeting) if meeting is not None else None


async def _remind_job(context: Context) -> None:
    assert context.job is not None
    svc = services(context)
    found = await _question_and_meeting(svc, int(cast(int, context.job.data)))
    if found is None:
        return
    question, meeting = found
    deadline = await _deadline_of(svc, question.id)
    texts = await reminder_texts(svc, question, meeting, deadline)
    await usecase.remind(svc.db, question.id, texts, automatic=True)


async def _deadline_of(svc: Services, question: int) -> datetime | None:
    found = await usecase.deadline_of(svc.db, question)
    return found.deadline_at if found else None


async def _deadline_job(context: Context) -> None:
    assert context.job is not None
    svc = services(context)
    found = await _question_and_meeting(svc, int(cast(int, context.job.data)))
    if found is None:
        return
    question, meeting = found
    language = (
        (await identify_id(svc, question.turnout_chat)).language
        if question.turnout_chat is not None
        else i18n.DEFAULT
    )
    title = {}
    for code in i18n.LANGUAGES:
        with i18n.use_locale(code):
            title[code] = await _title(svc, question, code)

    def render(code: str, voted: int, roll: int) -> str:
        with i18n.use_locale(code):
            return "\n".join(
                [
                    f"⏰ <b>{meeting_label(meeting)}</b>",
                    title[code],
                    t(
                        "The deadline has passed: {voted} of {roll} members on the roll have voted.",
                        voted=i18n.number(voted),
                        roll=i18n.number(roll),
                    ),
                    t(
                        "The vote stays open until you close it with /close; /remind reminds those who have not voted."
                    ),
                ]
            )

    await usecase.deadline_reached(svc.db, question.id, render, language)


# --- the chair's commands ------------------------------------------------------------------


@meeting_command("remind", "chair")
async def remind(
    update: Update, context: Context, caller: Caller, meeting: Meeting, args: list[str]
) -> None:
    svc = services(context)
    question = await meetings_store.open_question_of(svc.db, meeting.id)
    if question is None:
        await reply(update, t("No vote is open in this meeting."))
        return
    deadline = await _deadline_of(svc, question.id)
    texts = await reminder_texts(svc, question, meeting, deadline)
    outcome = await usecase.remind(
        svc.db, question.id, texts, automatic=False, actor_id=caller.telegram_id
    )
    if isinstance(outcome, usecase.RemindRefused):
        await reply(
            update,
            t("Every member on the roll has voted.")
            if outcome.reason == "everyone_voted"
            else t("No vote is open in this meeting."),
        )
        return
    members = {m.code: m for m in await registry.members(svc.db)}
    names = [members[c].name(caller.language) if c in members else c for c in outcome.members]
    await reply(
        update,
        i18n.tn(
            "A reminder is being sent to the delegates of {n} member that has not voted: {members}",
            "A reminder is being sent to the delegates of {n} members that have not voted: {members}",
            len(outcome.members),
            members=", ".join(names),
        ),
    )


@meeting_command("turnout", "chair")
async def turnout(
    update: Update, context: Context, caller: Caller, meeting: Meeting, args: list[str]
) -> None:
    from handlers.votes import reply_turnout

    svc = services(context)
    question = await meetings_store.open_question_of(svc.db, meeting.id)
    if question is None:
        await reply(update, t("No vote is open in this meeting."))
        return
    sent = await reply_turnout(update, svc, question, caller.language)
    if sent is not None:
        # From now on this message is the one kept up to date.
        await meetings_store.set_turnout_message(svc.db, question.id, *sent)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("remind", remind, private))
    application.add_handler(CommandHandler("turnout", turnout, private))
