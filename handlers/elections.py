"""Elections: /election ID opens a round; secret ballots with toggling candidates, Submit,
review, Confirm; the count by R10 or R11 with a chart; the chair's casting vote."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot import callbacks, i18n
from bot import elections as core
from bot.app import Services, services
from bot.i18n import Html, t, tn
from bot.store import elections as store_elections
from bot.store import meetings as store
from bot.store import registry
from bot.store.meetings import Meeting, Question
from bot.usecases import votes as vote_cases
from handlers.common import Caller, Context, action, reply
from handlers.meetings import meeting_command, meeting_label, year

log = logging.getLogger(__name__)


async def candidate_names(svc: Services, election: int, language: str) -> dict[str, str]:
    members = {m.code: m for m in await registry.members(svc.db)}
    names = {}
    for entry in await store_elections.candidates(svc.db, election):
        member = members.get(entry.code)
        names[entry.code] = entry.name or (member.name(language) if member else entry.code)
    return names


async def ballot_view(
    svc: Services, question: Question, meeting: Meeting, member: str, language: str, mask: int
) -> tuple[str, list[list[tuple[str, str]]]]:
    election = await store_elections.get_election(svc.db, question.election or 0)
    assert election is not None
    names = await candidate_names(svc, election.id, language)
    limit = core.max_choices(question)
    lines = [
        f"🗳 <b>{meeting_label(meeting)}</b>",
        t("<b>{title}</b>, round {round}", title=election.title, round=question.round),
        t("Secret ballot: your member's choice is never stored with its name."),
        tn(
            "Choose one candidate, or none for a blank ballot.",
            "Choose up to {n} candidates, or none for a blank ballot.",
            limit,
        ),
        t("You vote for {member}. One vote per member; a confirmed vote is final.", member=member),
    ]
    rows = []
    for n, code in enumerate(question.candidates):
        mark = "☑️" if mask >> n & 1 else "⬜"
        rows.append(
            [
                (
                    f"{mark} {names.get(code, code)}"[:60],
                    callbacks.make("et", question.id, format(mask ^ (1 << n), "x")),
                )
            ]
        )
    rows.append([(str(t("Submit")), callbacks.make("es", question.id, format(mask, "x")))])
    return "\n".join(lines), rows


@meeting_command("election", "chair")
async def election(
    update: Update, context: Context, caller: Caller, meeting: Meeting, args: list[str]
) -> None:
    svc = services(context)
    from handlers import deadlines

    plan = None
    if len(args) == 2:
        plan = deadlines.plan(svc, args[1])
        if plan is None:
            await reply(update, deadlines.bad_minutes())
            return
    if not 1 <= len(args) <= 2 or not args[0].isdecimal():
        await reply(update, t("Usage: /election ID [MINUTES]"))
        return
    election_id = callbacks.parse_id(args[0])  # None for a number no election can have
    if election_id is None:
        await reply(update, t("There is no election {id} in this meeting.", id=args[0][:20]))
        return
    from handlers.votes import ballot_renderer, opened_reply

    opened = await vote_cases.open_election_round(
        svc.db,
        meeting.id,
        election_id,
        actor_id=caller.telegram_id,
        year=year(svc),
        years=svc.settings.good_standing_years,
        ballot=ballot_renderer(svc),
        deadline=plan,
    )
    if opened.status == "no_election":
        await reply(update, t("There is no election {id} in this meeting.", id=args[0]))
        return
    await opened_reply(update, context, opened, caller)


@action("registered")
async def ballot_press(update: Update, context: Context, caller: Caller) -> None:
    """Toggle (et), Submit (es) or Confirm (ec): every claim checked again here."""
    from handlers.votes import checked_press, edit_query, record_vote

    pressed = await checked_press(update, context, caller, None, False)
    if pressed is None:
        return
    query, question, meeting, parsed = pressed
    svc = services(context)
    mask = core.parse_mask(parsed.args[1], question.candidates)
    if mask is None:
        await query.answer(t("This button is not valid."), show_alert=True)
        return
    assert caller.member is not None
    chosen = core.selection(mask, question.candidates)
    limit = core.max_choices(question)
    if len(chosen) > limit:
        await query.answer(
            tn(
                "You can choose only one candidate.",
                "You can choose at most {n} candidates.",
                limit,
            ),
            show_alert=True,
        )
        return
    member = caller.member.name(caller.language)
    if parsed.kind == "et":
        await query.answer()
        text, rows = await ballot_view(svc, question, meeting, member, caller.language, mask)
        await edit_query(query, text, rows)
        return
    names = await candidate_names(svc, question.election or 0, caller.language)
    if parsed.kind == "es":
        await query.answer()
        listed = "\n".join(f"• {i18n.escape(names[c])}" for c in chosen) or str(t("Blank ballot"))
        text = "\n".join(
            [
                t("<b>Review your ballot</b> for {member}:", member=member),
                listed,
                t("Confirm? Once confirmed, the vote is final."),
            ]
        )
        rows = [
            [
                (str(t("Confirm")), callbacks.make("ec", question.id, format(mask, "x"))),
                (str(t("Cancel")), callbacks.make("et", question.id, format(mask, "x"))),
            ]
        ]
        await edit_query(query, text, rows)
        return
    await record_vote(context, query, caller, question, meeting, chosen, "")


async def render(svc: Services, question: Question, language: str) -> str:
    data = question.result or {}
    meeting = await store.get_meeting(svc.db, question.meeting)
    assert meeting is not None
    names = await candidate_names(svc, question.election or 0, language)
    elected = set(data.get("elected", []))
    lines = [
        f"📊 <b>{meeting_label(meeting)}</b>",
        t("<b>{title}</b>, round {round}", title=data.get("title", ""), round=data.get("round", 1)),
        t(
            "Roll {roll}; {turnout} voted, {blank} blank.",
            roll=i18n.number(data.get("roll", 0)),
            turnout=i18n.number(data.get("turnout", 0)),
            blank=i18n.number(data.get("blank", 0)),
        ),
    ]
    ranked = sorted(
        data.get("tally", {}).items(), key=lambda kv: (-kv[1], data["candidates"].index(kv[0]))
    )
    for code, votes in ranked:
        mark = "✅ " if code in elected else ""
        lines.append(
            Html(mark)
            + tn("{name}: {n} vote", "{name}: {n} votes", votes, name=names.get(code, code))
        )
    outcome = data.get("outcome")
    if outcome == "pending":
        lines.append(t("⚖️ Tied: waiting for the chair's casting vote."))
    if elected:
        lines.append(
            t("Elected: {names}", names=", ".join(names.get(c, c) for c in data["elected"]))
        )
    if data.get("decided_by") in ("capital_first", "regional_spread"):
        lines.append(
            t("Equal votes for the last seat: a capital comes before a city.")
            if data["decided_by"] == "capital_first"
            else t(
                "Equal votes for the last seat: decided by regional spread among those already elected."
            )
        )
    if data.get("tie_broken_by_chair"):
        lines.append(t("The final round was tied; the chair's casting vote decided it."))
    if outcome == "runoff":
        lines.append(
            t(
                "No decision yet: a run-off among {names}. The chair opens it with /election {id}.",
                names=", ".join(names.get(c, c) for c in data.get("runoff", [])),
                id=data.get("election"),
            )
        )
    if data.get("by_region"):
        lines.append(
            t(
                "Seats by region: African {african}, Arab {arab}, Asian {asian}.",
                african=data["by_region"].get("african", 0),
                arab=data["by_region"].get("arab", 0),
                asian=data["by_region"].get("asian", 0),
            )
        )
    lines.append(t("Secret ballot. Counted receipts:"))
    lines.append(i18n.escape(" ".join(data.get("receipts", []))) or "—")
    return "\n".join(lines)


async def chart_png(svc: Services, question: Question, language: str) -> bytes:
    data = question.result or {}
    names = await candidate_names(svc, question.election or 0, language)
    codes = list(data.get("candidates", []))
    with i18n.use_locale(language):
        title = str(
            t("{title}, round {round}", title=data.get("title", ""), round=data.get("round", 1))
        )
        words = str(t("Votes"))
    return core.chart(
        [names.get(c, c) for c in codes],
        [data["tally"].get(c, 0) for c in codes],
        [c in data.get("elected", []) for c in codes],
        i18n.visible(title),
        words,
    )


async def casting_prompt(
    svc: Services, question: Question, language: str
) -> tuple[str, list[list[tuple[str, str]]]]:
    """The question to the chair on a tied final round: a tied candidate, or Decline."""
    names = await candidate_names(svc, question.election or 0, language)
    rows = [
        [
            (
                names.get(code, code)[:60],
                callbacks.make("cv", question.id, question.candidates.index(code)),
            )
        ]
        for code in (question.result or {}).get("runoff", [])
    ]
    rows.append([(str(t("Decline")), callbacks.make("cv", question.id, "d"))])
    return t(
        "The final round is tied. The chair's casting vote decides: choose one of the tied candidates, or decline to leave a run-off."
    ), rows


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CommandHandler("election", election, filters.ChatType.PRIVATE))
    application.add_handler(
        CallbackQueryHandler(ballot_press, pattern=r"^e[tsc]:\d+:[0-9a-f]{1,16}$")
    )
