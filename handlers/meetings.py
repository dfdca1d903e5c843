"""Meetings: /checkin, /checkout, /quorum, and for the chair /call_quorum and /adjourn.

Meeting commands address the current meeting of a body the caller's member sits in;
where two are current the bot asks which, with buttons, and keeps the pending command in
the drafts table (handlers run concurrently, so no state lives in memory).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, cast

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot import callbacks, clock, i18n
from bot import meetings as core
from bot.app import Services, services
from bot.i18n import Html, t, tn
from bot.store import meetings as store
from bot.store.meetings import Meeting
from bot.usecases import meetings as meeting_cases
from handlers.common import Caller, Context, action, keyboard, reply

log = logging.getLogger(__name__)

MeetingCommand = Callable[[Update, Context, Caller, Meeting, list[str]], Awaitable[None]]
COMMANDS: dict[str, MeetingCommand] = {}


def year(svc: Services) -> int:
    return clock.year_in(svc.settings.timezone)


def body_name(body: str) -> str:
    return t("General Conference") if body == "gc" else t("Administrative Council")


def member_name(svc_members: dict[str, Any], code: str, language: str) -> str:
    member = svc_members.get(code)
    return member.name(language) if member else code


def meeting_label(meeting: Meeting) -> Html:
    return t("{body}: {title}", body=body_name(meeting.body), title=meeting.title)


# --- choosing the meeting ----------------------------------------------------------------


async def with_meeting(
    update: Update, context: Context, caller: Caller, command: str, args: list[str]
) -> None:
    """Run ``command`` on the caller's current meeting, asking which when there are two."""
    svc = services(context)
    member = (
        None
        if caller.is_secretariat and caller.member is None
        else (caller.member.code if caller.member else None)
    )
    found = await core.current_meetings(svc.db, member, year(svc), svc.settings.good_standing_years)
    if not found:
        await reply(update, t("There is no current meeting of a body your member sits in."))
        return
    if len(found) == 1:
        await COMMANDS[command](update, context, caller, found[0], args)
        return
    async with svc.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO drafts (telegram_id, kind, data, updated_at) VALUES (?, 'pick', ?, ?)"
            " ON CONFLICT(telegram_id, kind) DO UPDATE SET data = excluded.data,"
            " updated_at = excluded.updated_at",
            (
                caller.telegram_id,
                json.dumps({"command": command, "args": args}),
                clock.iso(clock.now()),
            ),
        )
    rows = [
        [(i18n.visible(meeting_label(m))[:60], callbacks.make("m", command, m.id))] for m in found
    ]
    await reply(update, t("Two meetings are current. Which one?"), keyboard(rows))


@action("registered")
async def picked(update: Update, context: Context, caller: Caller) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    svc = services(context)
    parsed = callbacks.parse(query.data)
    command = parsed.args[0] if parsed else ""
    if parsed is None or command not in COMMANDS or not parsed.args[1].isdigit():
        await reply(update, t("This button is not valid any more."))
        return
    row = await svc.db.one(
        "SELECT data FROM drafts WHERE telegram_id = ? AND kind = 'pick'", (caller.telegram_id,)
    )
    pending = json.loads(row[0]) if row else {}
    if pending.get("command") != command:
        await reply(update, t("This button is not valid any more."))
        return
    member = caller.member.code if caller.member else None
    found = await core.current_meetings(svc.db, member, year(svc), svc.settings.good_standing_years)
    meeting = next((m for m in found if m.id == int(parsed.args[1])), None)
    if meeting is None:
        await reply(update, t("This meeting is not current any more."))
        return
    await COMMANDS[command](update, context, caller, meeting, list(pending.get("args", [])))


def meeting_command(name: str, need: str) -> Callable[[MeetingCommand], Any]:
    """Register ``fn`` as the body of ``/name`` for the chosen meeting. Chair commands
    run only for the chair of that meeting's chair member (or the secretariat)."""

    def wrap(fn: MeetingCommand) -> Any:
        async def checked(
            update: Update, context: Context, caller: Caller, meeting: Meeting, args: list[str]
        ) -> None:
            if need == "chair" and not is_chair_of(caller, meeting):
                await reply(update, t("Only the chair of this meeting can do this."))
                return
            await fn(update, context, caller, meeting, args)

        COMMANDS[name] = checked

        @action(need)  # type: ignore[arg-type]
        async def entry(update: Update, context: Context, caller: Caller) -> None:
            await with_meeting(update, context, caller, name, list(context.args or []))

        return entry

    return wrap


def is_chair_of(caller: Caller, meeting: Meeting) -> bool:
    """The chair role of the meeting's chair member, or the secretariat."""
    return caller.is_secretariat or (
        caller.is_chair and caller.member is not None and caller.member.code == meeting.chair_member
    )


# --- attendance --------------------------------------------------------------------------


@meeting_command("checkin", "delegate")
async def checkin(
    update: Update, context: Context, caller: Caller, meeting: Meeting, args: list[str]
) -> None:
    await _presence(update, context, caller, meeting, True)


@meeting_command("checkout", "delegate")
async def checkout(
    update: Update, context: Context, caller: Caller, meeting: Meeting, args: list[str]
) -> None:
    await _presence(update, context, caller, meeting, False)


async def _presence(
    update: Update, context: Context, caller: Caller, meeting: Meeting, present: bool
) -> None:
    svc = services(context)
    assert caller.member is not None
    member = caller.member
    name = member.name(caller.language)
    presence = await meeting_cases.set_presence(
        svc.db,
        meeting.id,
        member.code,
        present,
        actor_id=caller.telegram_id,
        year=year(svc),
        years=svc.settings.good_standing_years,
    )
    if not present:
        await reply(
            update,
            t("{member} is checked out of {meeting}.", member=name, meeting=meeting_label(meeting))
            if presence.changed
            else t("{member} is not checked in.", member=name),
        )
        return
    if not presence.changed:
        await reply(update, t("{member} is already checked in.", member=name))
        return
    lines = [
        t("✅ {member} is checked in for {meeting}.", member=name, meeting=meeting_label(meeting))
    ]
    if not presence.voting_right:
        if meeting.body == "gc":
            lines.append(
                t(
                    "{member} holds no voting right, because its dues are not fully paid: it may attend but cannot vote, and it does not count toward the quorum. /dues shows why.",
                    member=name,
                )
            )
        else:
            lines.append(
                t(
                    "{member} holds no voting right, because its dues are not fully paid: it may attend and counts toward the council's quorum, but cannot vote. /dues shows why.",
                    member=name,
                )
            )
    if presence.open_question is not None:
        lines.append(
            t(
                "A vote is open. Its roll was fixed when it opened, so {member} cannot vote on it; it can vote on the next one.",
                member=name,
            )
        )
    await reply(update, "\n".join(lines))


# --- quorum ------------------------------------------------------------------------------


def render_quorum(state: core.QuorumState, language: str) -> str:
    meeting = state.meeting
    names = [member_name(state.facts.members, code, language) for code in state.attending]
    lines = [
        f"<b>{meeting_label(meeting)}</b>",
        i18n.Html(i18n.when(meeting.starts_at, meeting.timezone)),
    ]
    lines.append(tn("{n} member attending", "{n} members attending", len(state.attending)))
    if names:
        lines.append(i18n.escape("، ".join(names) if language == "ar" else ", ".join(names)))
    if meeting.body == "gc":
        lines.append(t("Counted for the quorum: members attending with a voting right."))
    else:
        lines.append(t("Counted for the quorum: every council member attending."))
    q = state.quorum
    lines.append(
        t(
            "Base {base}, needed {needed}, counted {counted}.",
            base=i18n.number(q.base),
            needed=i18n.number(q.needed),
            counted=i18n.number(q.attending),
        )
    )
    lines.append(
        t("✅ Quorate.")
        if q.quorate
        else tn(
            "❌ Not quorate: {n} more member needed.",
            "❌ Not quorate: {n} more members needed.",
            q.missing,
        )
    )
    if meeting.in_session_at is not None:
        lines.append(t("The meeting is in session."))
    elif meeting.reconvened_at is not None:
        lines.append(
            t(
                "The meeting has reconvened after its postponement: it is valid with any attending member that counts."
            )
        )
    elif meeting.postponed_until is not None:
        lines.append(
            t(
                "The meeting is postponed until {time}.",
                time=i18n.when(meeting.postponed_until, meeting.timezone),
            )
        )
    else:
        lines.append(t("The chair has not called the quorum yet."))
    return "\n".join(lines)


@meeting_command("quorum", "registered")
async def quorum(
    update: Update, context: Context, caller: Caller, meeting: Meeting, args: list[str]
) -> None:
    svc = services(context)
    state = await core.quorum_state(svc.db, meeting, year(svc), svc.settings.good_standing_years)
    await reply(update, render_quorum(state, caller.language))


@meeting_command("call_quorum", "chair")
async def call_quorum(
    update: Update, context: Context, caller: Caller, meeting: Meeting, args: list[str]
) -> None:
    svc = services(context)

    def postponed(meeting: Meeting, state: core.QuorumState, until: datetime) -> str:
        return t(
            "⏳ {meeting}: the quorum was not reached ({counted} of {needed} needed). The meeting is postponed until {time}; it will then be valid with any attending member that counts.",
            meeting=meeting_label(meeting),
            counted=i18n.number(state.quorum.attending),
            needed=i18n.number(state.quorum.needed),
            time=i18n.when(until, meeting.timezone),
        )

    called = await meeting_cases.call_quorum(
        svc.db,
        meeting.id,
        actor_id=caller.telegram_id,
        year=year(svc),
        years=svc.settings.good_standing_years,
        postponement_minutes=svc.settings.postponement_minutes,
        postponed_notice=postponed,
    )
    if called.status == "in_session":
        await reply(update, t("The meeting is already in session."))
    elif called.status == "meeting_closed":
        await reply(update, t("This meeting is not current any more."))
    elif called.status == "postponed_already":
        assert called.postponed_until is not None
        await reply(
            update,
            t(
                "The meeting is postponed until {time}; it reconvenes by itself then.",
                time=i18n.when(called.postponed_until, meeting.timezone),
            ),
        )
    elif called.status == "opened":
        assert called.meeting is not None
        state = await core.quorum_state(
            svc.db, called.meeting, year(svc), svc.settings.good_standing_years
        )
        await reply(update, render_quorum(state, caller.language))
    elif called.status == "inquorate":
        await reply(
            update,
            t(
                "Nobody who counts is attending yet. The meeting was already postponed once; it opens as soon as one such member checks in and you call the quorum again."
            ),
        )
    else:
        assert called.postponed_until is not None
        schedule_reconvene(context.application, meeting.id, called.postponed_until)
        await reply(
            update,
            t(
                "The quorum was not reached. The meeting is postponed until {time}, and every delegate of the body is being told.",
                time=i18n.when(called.postponed_until, meeting.timezone),
            ),
        )


@meeting_command("adjourn", "chair")
async def adjourn(
    update: Update, context: Context, caller: Caller, meeting: Meeting, args: list[str]
) -> None:
    svc = services(context)
    adjourned = await meeting_cases.adjourn(svc.db, meeting.id, actor_id=caller.telegram_id)
    if adjourned.status == "vote_open":
        await reply(update, t("A vote is still open. Close it with /close before adjourning."))
        return
    await reply(update, t("{meeting} is closed.", meeting=meeting_label(meeting)))


# --- notifying the body ------------------------------------------------------------------


async def notify_body(
    svc: Services,
    meeting: Meeting,
    kind: str,
    render: Callable[[], str],
    *,
    ref: str | None = None,
    photos: dict[str, bytes] | None = None,
) -> int:
    """Queue a message (with a photo per language, if given) to every delegate of the
    meeting's body, each in their language."""
    return await meeting_cases.notify_body(
        svc.db,
        meeting,
        kind,
        render,
        year=year(svc),
        years=svc.settings.good_standing_years,
        ref=ref,
        photos=photos,
    )


async def announce_convened(svc: Services, meeting: Meeting) -> int:
    """Tell every delegate of the body that the meeting is convened: when, and its agenda."""
    agenda = await store.agenda(svc.db, meeting.id)

    def render() -> str:
        language = i18n.current()
        lines: list[str] = [
            t("📣 <b>{meeting}</b> is convened.", meeting=meeting_label(meeting)),
            t("Opens: {time}", time=i18n.when(meeting.starts_at, meeting.timezone)),
        ]
        if meeting.kind == "extraordinary":
            lines.append(t("Extraordinary session: it discusses only the questions on its agenda."))
        if agenda:
            lines.append(t("Agenda:"))
            lines.extend(f"{i18n.escape(a.item)}. {i18n.escape(a.title(language))}" for a in agenda)
        lines.append(t("Check in with /checkin once it opens."))
        return "\n".join(lines)

    return await notify_body(svc, meeting, "convened", render)


# --- R4: reconvening, also after a restart -----------------------------------------------


def schedule_reconvene(
    application: Application[Any, Any, Any, Any, Any, Any], meeting: int, when: datetime
) -> None:
    queue = application.job_queue
    assert queue is not None
    name = f"reconvene:{meeting}"
    for job in queue.get_jobs_by_name(name):
        job.schedule_removal()
    queue.run_once(reconvene_job, when=max(when, clock.now()), data=meeting, name=name)


async def reconvene_job(context: Context) -> None:
    job = context.job
    assert job is not None
    await reconvene(context.application, int(cast(int, job.data)))


async def reconvene(
    application: Application[Any, Any, Any, Any, Any, Any], meeting_id: int
) -> None:
    svc = services(application)

    def notice(meeting: Meeting, in_session: bool) -> str:
        if in_session:
            return t(
                "▶️ {meeting} has reconvened and is in session.", meeting=meeting_label(meeting)
            )
        return t(
            "▶️ {meeting} has reconvened. It opens as soon as one member that counts checks in and the chair calls the quorum.",
            meeting=meeting_label(meeting),
        )

    await meeting_cases.reconvene(
        svc.db,
        meeting_id,
        year=year(svc),
        years=svc.settings.good_standing_years,
        notice=notice,
    )


async def resume(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """At start: reschedule every postponed meeting (overdue ones reconvene at once)."""
    svc = services(application)
    for meeting in await store.open_meetings(svc.db):
        if meeting.postponed_until is not None and meeting.reconvened_at is None:
            schedule_reconvene(application, meeting.id, meeting.postponed_until)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    for name in ("checkin", "checkout", "quorum", "call_quorum", "adjourn"):
        application.add_handler(CommandHandler(name, globals()[name], private))
    application.add_handler(CallbackQueryHandler(picked, pattern=r"^m:[a-z_]+:\d+$"))
