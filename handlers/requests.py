"""Requests for extraordinary sessions (R9): /request_session, /approve_session, /requests."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot import callbacks, i18n, rules
from bot import meetings as core
from bot.app import Services, services
from bot.i18n import t
from bot.store import requests as store
from handlers.common import Caller, Context, action, reply
from handlers.meetings import body_name, year

USAGE = "/request_session gc|council QUESTIONS, /request_session ID, /approve_session ID"


async def standing(svc: Services, request: store.SessionRequest) -> dict[str, Any]:
    """What R9 makes of a request's signatures and approvals today."""
    years = svc.settings.good_standing_years
    gc = await core.body_facts(svc.db, "gc", year(svc), years)
    if request.body == "gc":
        signers = [m for m in request.signatures if m in gc.voting]
        approvers = [m for m in request.approvals if m in gc.seated]
        members = len(gc.seated)
        requested_by = None
        needed = rules.GC_REQUEST_SIGNATORIES
    else:
        council = await core.body_facts(svc.db, "council", year(svc), years)
        signers = [m for m in request.signatures if m in council.seated]
        approvers = [m for m in request.approvals if m in council.seated]
        members = len(council.seated)
        office = {c for c, m in council.members.items() if m.kind == "office"}
        requested_by = "secretary_general" if office & set(signers) else None
        needed = rules.COUNCIL_REQUEST_SIGNATORIES
    admissible = rules.extraordinary_request(request.body, len(signers), requested_by)  # type: ignore[arg-type]
    approved = rules.extraordinary_approved(request.body, len(approvers), members)  # type: ignore[arg-type]
    share = 2 if request.body == "gc" else 1
    return {
        "signers": len(signers),
        "needed": needed,
        "admissible": admissible,
        "approvals": len(approvers),
        "members": members,
        "approvals_needed": -(-share * members // 3),
        "approved": admissible and approved,
        "by_office": requested_by is not None,
    }


async def may_take_part(svc: Services, body: str, member: str, signing: bool) -> str | None:
    """Why the member may not sign (or approve), or None."""
    facts = await core.body_facts(svc.db, body, year(svc), svc.settings.good_standing_years)
    if body == "gc" and signing and member not in facts.voting:
        return t(
            "Only active members in good standing can request an extraordinary General Conference. /dues shows why yours is not."
        )
    if member not in facts.seated:
        return t("Your member does not sit in the {body}.", body=body_name(body))
    return None


def render(request: store.SessionRequest, state: dict[str, Any]) -> str:
    lines = [
        t(
            "<b>Request {id}</b> for an extraordinary session of the {body}: {questions}",
            id=request.id,
            body=body_name(request.body),
            questions=request.questions,
        )
    ]
    if state["by_office"]:
        lines.append(t("Requested by the Secretary General."))
    lines.append(
        t(
            "Signed by {count} of the {needed} members needed.",
            count=i18n.number(state["signers"]),
            needed=i18n.number(state["needed"]),
        )
    )
    lines.append(
        t(
            "Approved by {count} of {members} members; {needed} needed.",
            count=i18n.number(state["approvals"]),
            members=i18n.number(state["members"]),
            needed=i18n.number(state["approvals_needed"]),
        )
    )
    lines.append(
        t("✅ The session can be convened.")
        if state["approved"]
        else t("The session cannot be convened yet.")
    )
    return "\n".join(lines)


async def take_part(update: Update, svc: Services, caller: Caller, raw_id: str, table: str) -> None:
    """Sign (``request_signatures``) or approve (``request_approvals``) request ``raw_id``
    for the caller's member, once, then show where the request stands."""
    assert caller.member is not None
    request_id = callbacks.parse_id(raw_id)
    found = await store.get(svc.db, request_id) if request_id is not None else None
    if found is None:
        await reply(update, t("There is no request {id}.", id=raw_id[:12]))
        return
    signing = table == "request_signatures"
    refusal = await may_take_part(svc, found.body, caller.member.code, signing)
    if refusal:
        await reply(update, refusal)
        return
    if not await store.add(svc.db, table, found.id, caller.member.code, caller.telegram_id):
        await reply(
            update,
            t("Your member has already signed this request.")
            if signing
            else t("Your member has already approved this request."),
        )
        return
    await show(update, svc, found.id)


async def show(update: Update, svc: Services, request_id: int) -> None:
    found = await store.get(svc.db, request_id)
    assert found is not None
    await reply(update, render(found, await standing(svc, found)))


@action("delegate")
async def request_session(update: Update, context: Context, caller: Caller) -> None:
    svc = services(context)
    args = context.args or []
    assert caller.member is not None
    if len(args) == 1 and args[0].isdigit():
        await take_part(update, svc, caller, args[0], "request_signatures")
    elif len(args) >= 2 and args[0].lower() in ("gc", "council"):
        body, questions = args[0].lower(), " ".join(args[1:])[:1000]
        refusal = await may_take_part(svc, body, caller.member.code, True)
        if refusal:
            await reply(update, refusal)
            return
        request_id = await store.create(
            svc.db, body, questions, caller.member.code, caller.telegram_id
        )
        await show(update, svc, request_id)
    else:
        await reply(update, t("Usage: {usage}", usage=USAGE))


@action("delegate")
async def approve_session(update: Update, context: Context, caller: Caller) -> None:
    args = context.args or []
    if len(args) != 1 or not args[0].isdigit():
        await reply(update, t("Usage: {usage}", usage=USAGE))
        return
    await take_part(update, services(context), caller, args[0], "request_approvals")


@action("registered")
async def requests(update: Update, context: Context, caller: Caller) -> None:
    svc = services(context)
    found = await store.all_requests(svc.db)
    if not found:
        await reply(update, t("There is no request for an extraordinary session."))
        return
    await reply(update, "\n\n".join([render(r, await standing(svc, r)) for r in found]))


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("request_session", request_session, private))
    application.add_handler(CommandHandler("approve_session", approve_session, private))
    application.add_handler(CommandHandler("requests", requests, private))
