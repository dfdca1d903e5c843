"""Requests for extraordinary sessions (R9): /request_session, /approve_session, /requests."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot import callbacks, i18n, usertext
from bot.app import Services, services
from bot.i18n import t
from bot.store import requests as store
from bot.usecases import requests as requests_cases
from handlers.common import Caller, Context, action, reply
from handlers.meetings import body_name, year

USAGE = "/request_session gc|council QUESTIONS, /request_session ID, /approve_session ID"


def render(state: requests_cases.Standing) -> str:
    request = state.request
    lines = [
        t(
            "<b>Request {id}</b> for an extraordinary session of the {body}: {questions}",
            id=request.id,
            body=body_name(request.body),
            questions=request.questions,
        )
    ]
    if state.requested_by == "secretary_general":
        lines.append(t("Requested by the Secretary General."))
    elif state.requested_by == "council_chair":
        lines.append(t("Requested by the Chairman of the Administrative Council."))
    else:
        lines.append(
            t(
                "Signed by {count} of the {needed} members needed.",
                count=i18n.number(state.signers),
                needed=i18n.number(state.needed),
            )
        )
        lines.append(
            t(
                "Approved by {count} of {members} members; {needed} needed.",
                count=i18n.number(state.approvals),
                members=i18n.number(state.members),
                needed=i18n.number(state.approvals_needed),
            )
        )
    lines.append(
        t("✅ The session can be convened.")
        if state.convened
        else t("The session cannot be convened yet.")
    )
    return "\n".join(lines)


async def answer(update: Update, outcome: requests_cases.RequestOutcome, raw_id: str) -> None:
    if outcome.standing is not None:
        await reply(update, render(outcome.standing))
        return
    text = {
        "unknown": t("There is no request {id}.", id=raw_id[:12]),
        "not_in_good_standing": t(
            "Only active members in good standing can request an extraordinary General Conference. /dues shows why yours is not."
        ),
        "already_signed": t("Your member has already signed this request."),
        "already_approved": t("Your member has already approved this request."),
    }.get(outcome.status)
    if text is None:  # the member does not sit in the request's body
        text = t("Your member does not sit in the {body}.", body=body_name(outcome.body or ""))
    await reply(update, text)


async def take_part(
    update: Update, svc: Services, caller: Caller, raw_id: str, signing: bool
) -> None:
    """Sign or approve request ``raw_id`` for the caller's member, once, then show where
    the request stands."""
    assert caller.member is not None
    request_id = callbacks.parse_id(raw_id)
    if request_id is None:  # a number no request can have
        await reply(update, t("There is no request {id}.", id=raw_id[:12]))
        return
    outcome = await requests_cases.take_part(
        svc.db,
        request_id,
        caller.member.code,
        signing=signing,
        actor_id=caller.telegram_id,
        as_chair=caller.is_chair,
        year=year(svc),
        years=svc.settings.good_standing_years,
    )
    await answer(update, outcome, raw_id)


@action("delegate")
async def request_session(update: Update, context: Context, caller: Caller) -> None:
    svc = services(context)
    args = context.args or []
    assert caller.member is not None
    if len(args) == 1 and args[0].isdigit():
        await take_part(update, svc, caller, args[0], True)
    elif len(args) >= 2 and args[0].lower() in ("gc", "council"):
        questions = " ".join(args[1:])[:1000]
        if usertext.problem(questions) is not None:
            await reply(
                update,
                t(
                    "The questions may not contain control characters or invisible direction marks. Please type them as plain text."
                ),
            )
            return
        outcome = await requests_cases.make_request(
            svc.db,
            args[0].lower(),
            questions,
            caller.member.code,
            actor_id=caller.telegram_id,
            as_chair=caller.is_chair,
            year=year(svc),
            years=svc.settings.good_standing_years,
        )
        await answer(update, outcome, "")
    else:
        await reply(update, t("Usage: {usage}", usage=USAGE))


@action("delegate")
async def approve_session(update: Update, context: Context, caller: Caller) -> None:
    args = context.args or []
    if len(args) != 1 or not args[0].isdigit():
        await reply(update, t("Usage: {usage}", usage=USAGE))
        return
    await take_part(update, services(context), caller, args[0], False)


@action("registered")
async def requests(update: Update, context: Context, caller: Caller) -> None:
    svc = services(context)
    found = await store.all_requests(svc.db)
    if not found:
        await reply(update, t("There is no request for an extraordinary session."))
        return
    states = [
        await requests_cases.standing(
            svc.db, r, year=year(svc), years=svc.settings.good_standing_years
        )
        for r in found
    ]
    await reply(update, "\n\n".join(render(s) for s in states))


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("request_session", request_session, private))
    application.add_handler(CommandHandler("approve_session", approve_session, private))
    application.add_handler(CommandHandler("requests", requests, private))
