"""Resolutions: /motion, ballots with Yes/No/Abstain then Confirm/Cancel, /vote, /close,
/results, /announce, and the chair's casting vote on a tied secret vote."""

from __future__ import annotations

import asyncio
import dataclasses
import html
import logging
import re
from collections.abc import Sequence
from typing import Any, cast

from telegram import Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot import callbacks, i18n, outbox
from bot import meetings as core
from bot.app import Services, services
from bot.i18n import Html, t
from bot.store import Database, registry
from bot.store import meetings as store
from bot.store.meetings import Meeting, Question
from bot.usecases import votes
from bot.usecases.notices import Recipient
from handlers import deadlines, elections
from handlers.common import (
    Caller,
    Context,
    action,
    identify_id,
    keyboard,
    reply,
    uneditable,
)
from handlers.meetings import (
    body_name,
    meeting_command,
    meeting_label,
    member_name,
    year,
)

log = logging.getLogger(__name__)
CHOICE_CODES = ("y", "n", "a")


def choice_name(code: str) -> Html:
    return {"y": t("Yes"), "n": t("No"), "a": t("Abstain")}.get(code, Html(code))


def ballot_buttons(question: int) -> list[list[tuple[str, str]]]:
    return [[(str(choice_name(c)), callbacks.make("v", question, c)) for c in CHOICE_CODES]]


async def question_title(db: Database, question: Question, language: str) -> Html:
    if question.election is not None:
        from bot.store.elections import get_election

        found = await get_election(db, question.election)
        return t(
            "<b>{title}</b>, round {round}",
            title=found.title if found else "",
            round=question.round,
        )
    items = {a.item: a for a in await store.agenda(db, question.meeting)}
    item = items.get(question.item or "")
    title = item.title(language) if item else ""
    return t("Item {item}: {title}", item=question.item, title=title)


async def ballot_text(
    db: Database, question: Question, meeting: Meeting, member: str, language: str
) -> str:
    lines = [f"🗳 <b>{meeting_label(meeting)}</b>", await question_title(db, question, language)]
    lines.append(
        t("Secret ballot: your member's choice is never stored with its name.")
        if question.secret
        else t("Open vote: how each member voted is part of the record.")
    )
    lines.append(
        t("You vote for {member}. One vote per member; a confirmed vote is final.", member=member)
    )
    return "\n".join(lines)


# --- opening -----------------------------------------------------------------------------


@meeting_command("motion", "chair")
async def motion(
    update: Update, context: Context, caller: Caller, meeting: Meeting, args: list[str]
) -> None:
    svc = services(context)
    words = list(args)
    plan = None
    if len(words) > 1 and deadlines.looks_like_minutes(words[-1]):
        plan = deadlines.plan(svc, words.pop())
        if plan is None:
            await reply(update, deadlines.bad_minutes())
            return
    if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() != "secret"):
        await reply(update, t("Usage: /motion ITEM [secret] [MINUTES]"))
        return
    item, secret = words[0], len(words) == 2
    opened = await votes.open_resolution(
        svc.db,
        meeting.id,
        item,
        secret=secret,
        actor_id=caller.telegram_id,
        year=year(svc),
        years=svc.settings.good_standing_years,
        ballot=ballot_renderer(svc),
        deadline=plan,
    )
    if opened.status == "not_on_agenda":
        listed = ", ".join(opened.agenda) or "—"
        if meeting.kind == "extraordinary":
            text = t(
                "An extraordinary session discusses only the questions it was convened for. {item} is not on its agenda ({items}).",
                item=item[:20],
                items=listed,
            )
        else:
            text = t("{item} is not on the agenda ({items}).", item=item[:20], items=listed)
        await reply(update, text)
        return
    await opened_reply(update, context, opened, caller)


async def opened_reply(
    update: Update, context: Context, opened: votes.Opened, caller: Caller
) -> None:
    """What the chair sees once /motion or /election is decided: the live turnout of the
    opened vote, or why nothing was opened."""
    svc = services(context)
    if opened.status == "opened":
        assert opened.question is not None
        await deadlines.schedule_for(context, opened.question.id)
        sent = await reply_turnout(update, svc, opened.question, caller.language)
        if sent is not None:
            await store.set_turnout_message(svc.db, opened.question.id, *sent)
        return
    text = {
        "already_open": t("A vote is already open in this meeting. Close it with /close first."),
        "not_in_session": t(
            "The meeting is not in session: the chair calls the quorum first (/call_quorum)."
        ),
        "meeting_closed": t("This meeting is not current any more."),
        "nobody": t("No attending member holds a voting right: there is nobody to vote."),
        "decided": t("This election is decided. /results shows the result."),
    }.get(opened.status, t("This meeting is not current any more."))
    await reply(update, text)


def ballot_renderer(svc: Services) -> votes.BallotRenderer:
    """Each delegate's fresh ballot, rendered in their language inside the opening
    transaction (``db`` is that transaction's view)."""

    async def render(
        db: Database, question: Question, meeting: Meeting, recipient: Recipient
    ) -> outbox.Outgoing:
        inside = dataclasses.replace(svc, db=db)
        member = await registry.get_member(db, recipient.member)
        with i18n.use_locale(recipient.language):
            name = member.name(recipient.language) if member else recipient.member
            text, rows = await ballot_view(inside, question, meeting, name, recipient.language)
        return outbox.Outgoing(
            recipient.telegram_id,
            recipient.language,
            text,
            buttons=rows,
            member=recipient.member,
        )

    return render


async def ballot_view(
    svc: Services, question: Question, meeting: Meeting, member: str, language: str
) -> tuple[str, list[list[tuple[str, str]]]]:
    """A fresh ballot, as first sent (and sent again by /vote)."""
    if question.kind == "resolution":
        return (
            await ballot_text(svc.db, question, meeting, member, language),
            ballot_buttons(question.id),
        )
    return await elections.ballot_view(svc, question, meeting, member, language, 0)


async def turnout_text(svc: Services, question: Question, language: str) -> str:
    roll = await store.roll_of(svc.db, question.id)
    voted = set(await store.voted(svc.db, question.id))
    members = {m.code: m for m in await registry.members(svc.db)}
    missing = [member_name(members, m, language) for m in roll if m not in voted]
    lines = [
        t("<b>Turnout, question {id}</b>", id=question.id),
        t(
            "{voted} of {roll} members on the roll have voted.",
            voted=i18n.number(len(voted)),
            roll=i18n.number(len(roll)),
        ),
    ]
    deadline = await deadlines.deadline_line(svc, question)
    if deadline:
        lines.append(deadline)
    if question.withdrawn_at is not None:
        lines.append(t("The chair has withdrawn this vote: nothing is counted."))
    elif question.closed_at is not None:
        lines.append(t("The vote is closed."))
    elif missing:
        lines.append(t("Not voted yet: {members}", members=", ".join(missing)))
    return "\n".join(lines)


async def reply_turnout(
    update: Update, svc: Services, question: Question, language: str
) -> tuple[int, int, str] | None:
    message = update.effective_message
    if message is None:
        return None
    text = await turnout_text(svc, question, language)
    sent = await message.reply_text(text, parse_mode="HTML")
    return sent.chat_id, sent.message_id, text


async def refresh_turnout(context: Context, question_id: int) -> None:
    """Edit the chair's turnout message, at most once a second per question."""
    queue = context.application.job_queue
    assert queue is not None
    name = f"turnout:{question_id}"
    if not queue.get_jobs_by_name(name):
        queue.run_once(_turnout_job, when=1.0, data=question_id, name=name)


async def _turnout_job(context: Context) -> None:
    assert context.job is not None
    await update_turnout(context, int(cast(int, context.job.data)))


async def update_turnout(context: Context, question_id: int) -> None:
    """Edit the chair's turnout message to what it should show now, only if that differs
    from the text it shows (kept in the database, so also right after a restart). One
    update at a time, so that two never send the same edit."""
    svc = services(context)
    lock = svc.extras.setdefault("turnout_lock", asyncio.Lock())
    async with lock:
        question = await store.get_question(svc.db, question_id)
        if question is None or question.turnout_chat is None or question.turnout_message is None:
            return
        caller = await identify_id(svc, question.turnout_chat)
        with i18n.use_locale(caller.language):
            text = await turnout_text(svc, question, caller.language)
        if text == question.turnout_text:
            return
        try:
            await context.bot.edit_message_text(
                text, question.turnout_chat, question.turnout_message, parse_mode="HTML"
            )
        except BadRequest as exc:
            log.warning("turnout of question %s not updated: %s", question.id, exc)
            return
        await store.set_turnout_text(svc.db, question.id, text)


# --- voting ------------------------------------------------------------------------------


def refusal(reason: str) -> str:
    return {
        "closed": t("This vote is closed."),
        "withdrawn": t("The chair has withdrawn this vote: its ballot no longer accepts votes."),
        "not_on_roll": t(
            "Your member is not on the roll of this vote: the roll was fixed when the vote opened, with the members attending and holding a voting right."
        ),
        "already_voted": t("Your member has already voted on this question. A vote is final."),
        "not_delegate": t("Only delegates of a member can do this."),
        "invalid": t("This button is not valid."),
    }[reason]


async def check_ballot(
    svc: Services, caller: Caller, question_id: str, resolution: bool | None = None
) -> tuple[Question, Meeting] | str:
    """Everything the button claims, checked again: returns the question or a refusal.
    ``resolution``: the button belongs to a resolution's ballot (True) or an election's
    (False); a button of one kind on a question of the other is not valid."""
    if not caller.is_delegate or caller.member is None:
        return "not_delegate"
    found = callbacks.parse_id(question_id)
    question = await store.get_question(svc.db, found) if found is not None else None
    if question is None:
        return "closed"
    if resolution is not None and resolution != (question.kind == "resolution"):
        return "invalid"
    meeting = await store.get_meeting(svc.db, question.meeting)
    assert meeting is not None
    if question.withdrawn_at is not None:
        return "withdrawn"
    if question.closed_at is not None:
        return "closed"
    standing = await store.ballot_standing(svc.db, question.id, caller.member.code)
    if standing != "may_vote":
        return standing
    return question, meeting


async def checked_press(
    update: Update,
    context: Context,
    caller: Caller,
    choices: Sequence[str] | None,
    resolution: bool,
) -> tuple[Any, Question, Meeting, callbacks.Callback] | None:
    """A ballot button's claims checked again (``choices``: the values its last field may
    take, None for any; ``resolution``: a resolution's button, else an election's);
    answers the press itself on a refusal."""
    query = update.callback_query
    assert query is not None
    parsed = callbacks.parse(query.data)
    if parsed is None or (choices is not None and parsed.args[1] not in choices):
        await query.answer(t("This button is not valid."), show_alert=True)
        return None
    checked = await check_ballot(services(context), caller, parsed.args[0], resolution)
    if isinstance(checked, str):
        await query.answer(refusal(checked), show_alert=True)
        return None
    return query, checked[0], checked[1], parsed


@action("registered")
async def ballot_button(update: Update, context: Context, caller: Caller) -> None:
    pressed = await checked_press(update, context, caller, CHOICE_CODES, True)
    if pressed is None:
        return
    query, question, meeting, parsed = pressed
    choice = parsed.args[1]
    await query.answer()
    svc = services(context)
    assert caller.member is not None
    text = "\n".join(
        [
            await ballot_text(
                svc.db, question, meeting, caller.member.name(caller.language), caller.language
            ),
            "",
            t(
                "You chose <b>{choice}</b> for {member}. Confirm? Once confirmed, the vote is final.",
                choice=choice_name(choice),
                member=caller.member.name(caller.language),
            ),
        ]
    )
    buttons = [
        [
            (str(t("Confirm")), callbacks.make("vc", question.id, choice)),
            (str(t("Cancel")), callbacks.make("vc", question.id, "x")),
        ]
    ]
    await edit_query(query, text, buttons)


@action("registered")
async def confirm_button(update: Update, context: Context, caller: Caller) -> None:
    pressed = await checked_press(update, context, caller, (*CHOICE_CODES, "x"), True)
    if pressed is None:
        return
    query, question, meeting, parsed = pressed
    choice = parsed.args[1]
    svc = services(context)
    assert caller.member is not None
    if choice == "x":
        await query.answer(t("Cancelled. Choose again."))
        text = await ballot_text(
            svc.db, question, meeting, caller.member.name(caller.language), caller.language
        )
        await edit_query(query, text, ballot_buttons(question.id))
        return
    await record_vote(context, query, caller, question, meeting, choice, choice)


async def record_vote(
    context: Context,
    query: Any,
    caller: Caller,
    question: Question,
    meeting: Meeting,
    choice: str | Sequence[str],
    shown: str,
) -> None:
    """Cast the confirmed vote; acknowledge it (with its receipt) only once it is recorded."""
    svc = services(context)
    assert caller.member is not None
    cast_ = await votes.cast(
        svc.db, question.id, caller.member.code, choice, cast_by=caller.telegram_id
    )
    if not cast_.recorded:
        withdrawn = cast_.question is not None and cast_.question.withdrawn_at is not None
        await query.answer(refusal("withdrawn" if withdrawn else cast_.status), show_alert=True)
        return
    await query.answer(t("Your vote is recorded."))
    await show_recorded(context, svc, question, meeting, caller, shown, cast_.receipt, query)
    await refresh_turnout(context, question.id)


async def show_recorded(
    context: Context,
    svc: Services,
    question: Question,
    meeting: Meeting,
    caller: Caller,
    choice: str,
    receipt: str | None,
    query: Any,
) -> None:
    """Every delegate of the member sees on their ballot what was recorded."""
    assert caller.member is not None
    member = caller.member

    async def render(language: str, with_receipt: bool) -> str:
        with i18n.use_locale(language):
            lines = [
                f"🗳 <b>{meeting_label(meeting)}</b>",
                await question_title(svc.db, question, language),
            ]
            if question.secret:
                lines.append(
                    t("✅ {member} has voted (secret ballot).", member=member.name(language))
                )
                if with_receipt:
                    lines.append(
                        t(
                            "Your receipt: <code>{receipt}</code>. Keep it: the published result lists every counted receipt.",
                            receipt=receipt,
                        )
                    )
            else:
                lines.append(
                    t(
                        "✅ {member} voted: <b>{choice}</b>.",
                        member=member.name(language),
                        choice=choice_name(choice),
                    )
                )
            return "\n".join(lines)

    await edit_query(query, await render(caller.language, True), None)
    for telegram_id, _, message_id in await outbox.delivered_messages(
        svc.db, f"q:{question.id}", member.code
    ):
        if telegram_id == caller.telegram_id:
            continue
        other = await identify_id(svc, telegram_id)
        if other.member is None or other.member.code != member.code:
            continue  # unbound since (a lost phone): it is shown nothing more
        try:
            await context.bot.edit_message_text(
                await render(other.language, False), telegram_id, message_id, parse_mode="HTML"
            )
        except TelegramError as exc:
            log.info("ballot of %s not updated: %s", telegram_id, exc)


def shows(message: Any, text: str, markup: Any) -> bool:
    """Whether ``message`` already shows ``text`` (Telegram HTML) with ``markup``: an edit
    to the same would be refused ("message is not modified")."""
    if not isinstance(message, Message) or message.text is None:
        return False
    plain = html.unescape(re.sub(r"<[^>]+>", "", text)).strip()
    return message.text == plain and message.reply_markup == markup


async def edit_query(query: Any, text: str, buttons: list[list[tuple[str, str]]] | None) -> None:
    markup = keyboard(buttons) if buttons else None
    if shows(query.message, text, markup):
        return  # a second press of the same button: nothing to change
    try:
        await query.edit_message_text(text, parse_mode="HTML", reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in str(exc):
            return
        if not uneditable(exc):
            raise
        # The ballot is too old to edit, or gone: the same content comes as a new message.
        await query.get_bot().send_message(
            query.from_user.id, text, parse_mode="HTML", reply_markup=markup
        )


@action("delegate")
async def vote(update: Update, context: Context, caller: Caller) -> None:
    """The ballots still open for the caller's member, sent again."""
    svc = services(context)
    assert caller.member is not None
    found = await core.current_meetings(
        svc.db, caller.member.code, year(svc), svc.settings.good_standing_years
    )
    sent = 0
    for meeting in found:
        question = await store.open_question_of(svc.db, meeting.id)
        if question is None:
            continue
        checked = await check_ballot(svc, caller, str(question.id))
        if isinstance(checked, str):
            if checked == "not_on_roll":
                await reply(update, refusal(checked))
            continue
        text, rows = await ballot_view(
            svc, question, meeting, caller.member.name(caller.language), caller.language
        )
        await reply(update, text, keyboard(rows))
        sent += 1
    if not sent and not found:
        await reply(update, t("There is no current meeting of a body your member sits in."))
    elif not sent:
        await reply(update, t("No ballot is waiting for your member's vote."))


# --- closing, results --------------------------------------------------------------------


@meeting_command("close", "chair")
async def close(
    update: Update, context: Context, caller: Caller, meeting: Meeting, args: list[str]
) -> None:
    svc = services(context)
    closed = await votes.close_question(
        svc.db, meeting.id, actor_id=caller.telegram_id, casting_prompt=casting_prompt(svc)
    )
    if closed.status == "none_open" or closed.question is None:
        await reply(update, t("No vote is open in this meeting."))
        return
    await send_result(update, svc, closed.question, caller.language)
    await update_turnout(context, closed.question.id)


def casting_prompt(svc: Services) -> votes.BallotRenderer:
    """A tie in a secret vote: the chair's vote is secret too, so it is asked for in the
    closing transaction, of every chair delegate of the chair member (the first answer
    decides)."""

    async def render(
        db: Database, question: Question, meeting: Meeting, recipient: Recipient
    ) -> outbox.Outgoing:
        inside = dataclasses.replace(svc, db=db)
        with i18n.use_locale(recipient.language):
            prompt: str
            if question.kind == "resolution":
                prompt = t(
                    "The secret vote is tied: yes and no are each exactly half of the roll. The chair's vote prevails: how does the chair vote?"
                )
                rows = [
                    [
                        (str(t("Yes")), callbacks.make("cv", question.id, "y")),
                        (str(t("No")), callbacks.make("cv", question.id, "n")),
                    ]
                ]
            else:
                prompt, rows = await elections.casting_prompt(inside, question, recipient.language)
            text = "\n".join(
                [
                    f"⚖️ <b>{meeting_label(meeting)}</b>",
                    await question_title(db, question, recipient.language),
                    prompt,
                ]
            )
        return outbox.Outgoing(
            recipient.telegram_id, recipient.language, text, buttons=rows, member=recipient.member
        )

    return render


@action("chair")
async def casting_button(update: Update, context: Context, caller: Caller) -> None:
    query = update.callback_query
    assert query is not None
    svc = services(context)
    parsed = callbacks.parse(query.data)
    question_id = callbacks.parse_id(parsed.args[0]) if parsed else None
    if parsed is None or question_id is None or caller.member is None:
        await query.answer(t("This button is not valid."), show_alert=True)
        return
    given = await votes.casting_vote(
        svc.db,
        question_id,
        parsed.args[1],
        chair_member=caller.member.code,
        actor_id=caller.telegram_id,
    )
    if given.status == "invalid":
        await query.answer(t("This button is not valid."), show_alert=True)
        return
    if given.status == "already_given":
        await query.answer(t("The casting vote has already been given."), show_alert=True)
        return
    assert given.question is not None
    await query.answer()
    await edit_query(query, await render_result(svc, given.question, caller.language), None)


async def send_result(update: Update, svc: Services, question: Question, language: str) -> None:
    """The result as text and, for an election, its chart."""
    await reply(update, await render_result(svc, question, language))
    message = update.effective_message
    if question.kind != "resolution" and message is not None and question.withdrawn_at is None:
        await message.reply_photo(await elections.chart_png(svc, question, language))


async def render_result(svc: Services, question: Question, language: str) -> str:
    if question.withdrawn_at is not None:
        meeting = await store.get_meeting(svc.db, question.meeting)
        assert meeting is not None
        return "\n".join(
            [
                f"↩️ <b>{meeting_label(meeting)}</b>",
                await question_title(svc.db, question, language),
                t("Withdrawn by the chair before its close: nothing was counted."),
            ]
        )
    if question.kind != "resolution":
        return await elections.render(svc, question, language)
    data = question.result or {}
    meeting = await store.get_meeting(svc.db, question.meeting)
    assert meeting is not None
    members = {m.code: m for m in await registry.members(svc.db)}
    tally = data.get("tally", {})
    lines = [
        f"📊 <b>{meeting_label(meeting)}</b>",
        await question_title(svc.db, question, language),
    ]
    lines.append(
        t(
            "Roll {roll}: {needed} yes votes needed (more than half of the roll).",
            roll=i18n.number(data.get("roll", 0)),
            needed=i18n.number(data.get("threshold", 0)),
        )
    )
    lines.append(
        t(
            "Yes {yes}, No {no}, Abstain {abstain}, did not vote {silent}.",
            yes=i18n.number(tally.get("yes", 0)),
            no=i18n.number(tally.get("no", 0)),
            abstain=i18n.number(tally.get("abstain", 0)),
            silent=i18n.number(data.get("silent", 0)),
        )
    )
    outcome = data.get("outcome")
    if outcome == "adopted":
        lines.append(t("✅ <b>Adopted.</b>"))
    elif outcome == "rejected":
        lines.append(t("❌ <b>Rejected.</b>"))
    else:
        lines.append(t("⚖️ Tied: waiting for the chair's casting vote."))
    if data.get("tie_broken_by_chair"):
        lines.append(t("The vote was tied; the chair's vote prevailed."))
    elif data.get("tie") and outcome != "pending":
        lines.append(
            t(
                "The vote was tied and the chair's member had no vote on the roll, so it is rejected."
            )
        )
    if data.get("secret"):
        receipts = data.get("receipts", [])
        lines.append(t("Secret ballot. Counted receipts:"))
        lines.append(i18n.escape(" ".join(receipts)) if receipts else "—")
    else:
        for vote in data.get("votes", []):
            lines.append(
                t(
                    "• {member}: {choice}",
                    member=member_name(members, vote["member"], language),
                    choice=choice_name(vote["choice"][0]),
                )
            )
    if question.closed_at is None:
        lines.append(t("The vote is still open."))
    return "\n".join(lines)


async def user_meetings(svc: Services, caller: Caller) -> list[Meeting]:
    everything = await store.all_meetings(svc.db)
    if caller.is_secretariat:
        return everything
    facts = {
        body: await core.body_facts(svc.db, body, year(svc), svc.settings.good_standing_years)
        for body in ("gc", "council")
    }
    code = caller.member.code if caller.member else ""
    return [m for m in everything if code in facts[m.body].seated]


@action("registered")
async def results(update: Update, context: Context, caller: Caller) -> None:
    svc = services(context)
    args = context.args or []
    allowed = await user_meetings(svc, caller)
    if len(args) > 1 or (args and not args[0].isdigit()):
        await reply(update, t("Usage: /results, or /results ID"))
        return
    if args:
        found = callbacks.parse_id(args[0])
        question = await store.get_question(svc.db, found) if found is not None else None
        if (
            question is None
            or question.meeting not in {m.id for m in allowed}
            or question.closed_at is None
        ):
            await reply(update, t("There is no closed vote {id} of your bodies.", id=args[0][:20]))
            return
    else:
        question = await store.latest_closed(svc.db, [m.id for m in allowed])
        if question is None:
            await reply(update, t("No vote has been closed yet."))
            return
    await send_result(update, svc, question, caller.language)


@meeting_command("announce", "chair")
async def announce(
    update: Update, context: Context, caller: Caller, meeting: Meeting, args: list[str]
) -> None:
    svc = services(context)
    question = await store.latest_closed(svc.db, [meeting.id])
    if question is None:
        await reply(update, t("No vote has been closed yet."))
        return
    if question.outcome == "pending":
        await reply(update, t("⚖️ Tied: waiting for the chair's casting vote."))
        return
    if question.announced_at is not None:
        await reply(update, t("This result has already been announced."))
        return
    # Everything that can fail (the chart above all) is rendered before the decision:
    # a failure here leaves the result unannounced, and /announce can be sent again.
    texts: dict[str, str] = {}
    charts: dict[str, bytes] = {}
    captions: dict[str, str] = {}
    for language in i18n.LANGUAGES:
        with i18n.use_locale(language):
            texts[language] = await render_result(svc, question, language)
            captions[language] = str(t("Chart of the result"))
            if question.kind != "resolution":
                charts[language] = await elections.chart_png(svc, question, language)
    announced = await votes.announce(
        svc.db,
        question.id,
        votes.Announcement(texts, charts, captions),
        actor_id=caller.telegram_id,
        year=year(svc),
        years=svc.settings.good_standing_years,
    )
    if announced.status == "already_announced":
        await reply(update, t("This result has already been announced."))
        return
    if announced.status == "pending":
        await reply(update, t("⚖️ Tied: waiting for the chair's casting vote."))
        return
    await reply(
        update,
        t(
            "The result is being sent to every delegate of the {body}.",
            body=body_name(meeting.body),
        ),
    )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    for name in ("motion", "close", "announce"):
        application.add_handler(CommandHandler(name, globals()[name], private))
    application.add_handler(CommandHandler("vote", vote, private))
    application.add_handler(CommandHandler("results", results, private))
    application.add_handler(CallbackQueryHandler(ballot_button, pattern=r"^v:\d+:[yna]$"))
    application.add_handler(CallbackQueryHandler(confirm_button, pattern=r"^vc:\d+:[ynax]$"))
    application.add_handler(CallbackQueryHandler(casting_button, pattern=r"^cv:\d+:([ynd]|\d+)$"))
