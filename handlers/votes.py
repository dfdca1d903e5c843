"""Resolutions: /motion, ballots with Yes/No/Abstain then Confirm/Cancel, /vote, /close,
/results, /announce, and the chair's casting vote on a tied secret vote."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, cast

from telegram import Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot import callbacks, i18n, outbox, rules
from bot import elections as election_core
from bot import meetings as core
from bot.app import Services, services
from bot.i18n import Html, t
from bot.store import Database, people, registry
from bot.store import meetings as store
from bot.store.meetings import Meeting, Question
from handlers import elections
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
    body_delegates,
    body_name,
    meeting_command,
    meeting_label,
    member_name,
    notify_body,
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
    if not args or len(args) > 2 or (len(args) == 2 and args[1].lower() != "secret"):
        await reply(update, t("Usage: /motion ITEM, or /motion ITEM secret"))
        return
    if meeting.in_session_at is None:
        await reply(
            update,
            t("The meeting is not in session: the chair calls the quorum first (/call_quorum)."),
        )
        return
    item, secret = args[0], len(args) == 2
    agenda = await store.agenda(svc.db, meeting.id)
    if not rules.motion_allowed(meeting.kind, item, [a.item for a in agenda]):  # type: ignore[arg-type]
        listed = ", ".join(a.item for a in agenda) or "—"
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
    await open_round(update, svc, caller, meeting, "resolution", secret=secret, item=item)


async def open_round(
    update: Update,
    svc: Services,
    caller: Caller,
    meeting: Meeting,
    kind: str,
    *,
    secret: bool,
    item: str | None = None,
    election: int | None = None,
    round_no: int = 1,
    candidates: Sequence[str] = (),
    seats: int | None = None,
) -> None:
    """Fix the roll (R6), open the question, send every delegate on the roll a ballot in
    their language through the outbox, and give the chair a live turnout message."""
    state = await core.quorum_state(svc.db, meeting, year(svc), svc.settings.good_standing_years)
    roll = sorted(rules.voting_roll(state.attending, state.facts.seated, state.facts.voting))
    if not roll:
        await reply(update, t("No attending member holds a voting right: there is nobody to vote."))
        return
    try:
        question_id = await store.open_question(
            svc.db,
            meeting.id,
            kind,
            roll,
            secret=secret,
            item=item,
            election=election,
            round_no=round_no,
            candidates=candidates,
            seats=seats,
            actor_id=caller.telegram_id,
        )
    except store.AlreadyOpen:
        await reply(
            update, t("A vote is already open in this meeting. Close it with /close first.")
        )
        return
    question = await store.get_question(svc.db, question_id)
    assert question is not None
    messages = []
    for account in await body_delegates(svc.db, tuple(roll)):
        who = await identify_id(svc, account.telegram_id)
        assert account.member is not None
        with i18n.use_locale(who.language):
            name = member_name(state.facts.members, account.member, who.language)
            text, rows = await ballot_view(svc, question, meeting, name, who.language)
        messages.append(
            outbox.Outgoing(
                account.telegram_id, who.language, text, buttons=rows, member=account.member
            )
        )
    await outbox.queue(svc.db, "ballot", messages, ref=f"q:{question.id}", actor="bot")
    sent = await reply_turnout(update, svc, question, caller.language)
    if sent is not None:
        await store.set_turnout_message(svc.db, question.id, sent[0], sent[1])


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
    if question.closed_at is not None:
        lines.append(t("The vote is closed."))
    elif missing:
        lines.append(t("Not voted yet: {members}", members=", ".join(missing)))
    return "\n".join(lines)


async def reply_turnout(
    update: Update, svc: Services, question: Question, language: str
) -> tuple[int, int] | None:
    message = update.effective_message
    if message is None:
        return None
    sent = await message.reply_text(await turnout_text(svc, question, language), parse_mode="HTML")
    return sent.chat_id, sent.message_id


async def refresh_turnout(context: Context, question_id: int) -> None:
    """Edit the chair's turnout message, at most once a second per question."""
    queue = context.application.job_queue
    assert queue is not None
    name = f"turnout:{question_id}"
    if not queue.get_jobs_by_name(name):
        queue.run_once(_turnout_job, when=1.0, data=question_id, name=name)


async def _turnout_job(context: Context) -> None:
    assert context.job is not None
    svc = services(context)
    question = await store.get_question(svc.db, int(cast(int, context.job.data)))
    if question is None or question.turnout_chat is None or question.turnout_message is None:
        return
    caller = await identify_id(svc, question.turnout_chat)
    with i18n.use_locale(caller.language):
        text = await turnout_text(svc, question, caller.language)
    try:
        await context.bot.edit_message_text(
            text, question.turnout_chat, question.turnout_message, parse_mode="HTML"
        )
    except BadRequest as exc:
        if "not modified" not in str(exc):
            log.warning("turnout of question %s not updated: %s", question.id, exc)


# --- voting ------------------------------------------------------------------------------


def refusal(reason: str) -> str:
    return {
        "closed": t("This vote is closed."),
        "not_on_roll": t(
            "Your member is not on the roll of this vote: the roll was fixed when the vote opened, with the members attending and holding a voting right."
        ),
        "already_voted": t("Your member has already voted on this question. A vote is final."),
        "not_delegate": t("Only delegates of a member can do this."),
    }[reason]


async def check_ballot(
    svc: Services, caller: Caller, question_id: str
) -> tuple[Question, Meeting] | str:
    """Everything the button claims, checked again: returns the question or a refusal."""
    if not caller.is_delegate or caller.member is None:
        return "not_delegate"
    question = await store.get_question(svc.db, int(question_id)) if question_id.isdigit() else None
    if question is None:
        return "closed"
    meeting = await store.get_meeting(svc.db, question.meeting)
    assert meeting is not None
    if question.closed_at is not None:
        return "closed"
    standing = await store.ballot_standing(svc.db, question.id, caller.member.code)
    if standing != "may_vote":
        return standing
    return question, meeting


async def checked_press(
    update: Update, context: Context, caller: Caller, choices: Sequence[str] | None
) -> tuple[Any, Question, Meeting, callbacks.Callback] | None:
    """A ballot button's claims checked again (``choices``: the values its last field may
    take, None for any); answers the press itself on a refusal."""
    query = update.callback_query
    assert query is not None
    parsed = callbacks.parse(query.data)
    if parsed is None or (choices is not None and parsed.args[1] not in choices):
        await query.answer(t("This button is not valid."), show_alert=True)
        return None
    checked = await check_ballot(services(context), caller, parsed.args[0])
    if isinstance(checked, str):
        await query.answer(refusal(checked), show_alert=True)
        return None
    return query, checked[0], checked[1], parsed


@action("registered")
async def ballot_button(update: Update, context: Context, caller: Caller) -> None:
    pressed = await checked_press(update, context, caller, CHOICE_CODES)
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
    pressed = await checked_press(update, context, caller, (*CHOICE_CODES, "x"))
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
    receipt = core.new_receipt() if question.secret else None
    try:
        await store.cast(
            svc.db,
            question.id,
            caller.member.code,
            choice,
            cast_by=caller.telegram_id,
            receipt=receipt,
        )
    except store.VoteRefused as refused:
        await query.answer(refusal(refused.reason), show_alert=True)
        return
    await query.answer(t("Your vote is recorded."))
    await show_recorded(context, svc, question, meeting, caller, choice, receipt, query)
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
        try:
            await context.bot.edit_message_text(
                await render(other.language, False), telegram_id, message_id, parse_mode="HTML"
            )
        except TelegramError as exc:
            log.info("ballot of %s not updated: %s", telegram_id, exc)


async def edit_query(query: Any, text: str, buttons: list[list[tuple[str, str]]] | None) -> None:
    markup = keyboard(buttons) if buttons else None
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
    question = await store.open_question_of(svc.db, meeting.id)
    if question is None:
        await reply(update, t("No vote is open in this meeting."))
        return
    if question.kind == "resolution":
        result = await core.count_resolution(svc.db, question, meeting.chair_member)
    else:
        result = await elections.count(svc, question)
    if not await store.close_question(
        svc.db, question.id, result["outcome"], result, caller.telegram_id
    ):
        await reply(update, t("This vote is closed."))
        return
    closed = await store.get_question(svc.db, question.id)
    assert closed is not None
    await send_result(update, svc, closed, caller.language)
    if result["outcome"] == "pending":
        await ask_casting_vote(svc, closed, meeting)
    await refresh_turnout(context, question.id)


async def ask_casting_vote(svc: Services, question: Question, meeting: Meeting) -> None:
    """A tie in a secret vote: the chair's vote is secret too, so it is asked for now, of
    every chair delegate of the chair member; the first answer decides."""
    messages = []
    for account in await people.delegates_of(svc.db, meeting.chair_member):
        if account.role != "chair":
            continue
        caller = await identify_id(svc, account.telegram_id)
        with i18n.use_locale(caller.language):
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
                prompt, rows = await elections.casting_prompt(svc, question, caller.language)
            text = "\n".join(
                [
                    f"⚖️ <b>{meeting_label(meeting)}</b>",
                    await question_title(svc.db, question, caller.language),
                    prompt,
                ]
            )
        messages.append(
            outbox.Outgoing(
                account.telegram_id, caller.language, text, buttons=rows, member=account.member
            )
        )
    await outbox.queue(svc.db, "casting_vote", messages, ref=f"cv:{question.id}", actor="bot")


def _casting_choice_valid(question: Question, choice: str) -> bool:
    if question.kind == "resolution":
        return choice in ("y", "n")
    tied = (question.result or {}).get("runoff", [])
    return choice == "d" or (
        choice.isdigit()
        and int(choice) < len(question.candidates)
        and question.candidates[int(choice)] in tied
    )


@action("chair")
async def casting_button(update: Update, context: Context, caller: Caller) -> None:
    query = update.callback_query
    assert query is not None
    svc = services(context)
    parsed = callbacks.parse(query.data)
    question = (
        await store.get_question(svc.db, int(parsed.args[0]))
        if parsed and parsed.args[0].isdigit()
        else None
    )
    meeting = await store.get_meeting(svc.db, question.meeting) if question else None
    if (
        parsed is None
        or question is None
        or meeting is None
        or not _casting_choice_valid(question, parsed.args[1])
        or not (caller.is_chair and caller.member and caller.member.code == meeting.chair_member)
    ):
        await query.answer(t("This button is not valid."), show_alert=True)
        return
    if question.outcome != "pending" or question.result is None:
        await query.answer(t("The casting vote has already been given."), show_alert=True)
        return
    await query.answer()
    if question.kind == "resolution":
        settled = core.settle_resolution(question.result, core.CHOICES[parsed.args[1]])
    else:
        pick = parsed.args[1]
        settled = election_core.settle_single(
            question.result, None if pick == "d" else question.candidates[int(pick)]
        )
    if not await store.settle_pending(
        svc.db, question.id, settled["outcome"], settled, caller.telegram_id
    ):
        await edit_query(query, t("The casting vote has already been given."), None)
        return
    fresh = await store.get_question(svc.db, question.id)
    assert fresh is not None
    await edit_query(query, await render_result(svc, fresh, caller.language), None)


async def send_result(update: Update, svc: Services, question: Question, language: str) -> None:
    """The result as text and, for an election, its chart."""
    await reply(update, await render_result(svc, question, language))
    message = update.effective_message
    if question.kind != "resolution" and message is not None:
        await message.reply_photo(await elections.chart_png(svc, question, language))


async def render_result(svc: Services, question: Question, language: str) -> str:
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
        question = await store.get_question(svc.db, int(args[0]))
        if (
            question is None
            or question.meeting not in {m.id for m in allowed}
            or question.closed_at is None
        ):
            await reply(update, t("There is no closed vote {id} of your bodies.", id=args[0]))
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
    if not await store.mark_announced(svc.db, question.id, caller.telegram_id):
        await reply(update, t("This result has already been announced."))
        return
    texts: dict[str, str] = {}
    charts: dict[str, bytes] = {}
    for language in i18n.LANGUAGES:
        with i18n.use_locale(language):
            texts[language] = await render_result(svc, question, language)
            if question.kind != "resolution":
                charts[language] = await elections.chart_png(svc, question, language)
    await notify_body(
        svc, meeting, "result", lambda: texts[i18n.current()], ref=f"result:{question.id}"
    )
    if charts:
        await notify_body(
            svc,
            meeting,
            "result",
            lambda: str(t("Chart of the result")),
            ref=f"chart:{question.id}",
            photos=charts,
        )
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
