"""Requests for an extraordinary session (R9): making, signing and approving one.

Each function is one decision in one write transaction (see ``bot.usecases``); where the
request stands is decided by ``rules.extraordinary_convened`` on the facts read inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from bot import clock, rules
from bot import meetings as core
from bot.store import Database, registry
from bot.store import meetings as store_meetings
from bot.store import requests as store
from bot.store.requests import SessionRequest


@dataclass(frozen=True)
class Standing:
    """What R9 makes of a request today."""

    request: SessionRequest
    signers: int  # signatures that count (good standing for the GC, seated for the council)
    needed: int  # signatures an admissible members' request needs
    approvals: int
    members: int  # the base of the approvals: active members (GC) or council members
    approvals_needed: int
    requested_by: rules.Requester | None  # the Secretary General or the council chair
    convened: bool


async def standing(db: Database, request: SessionRequest, *, year: int, years: int) -> Standing:
    """Where a request stands (R9), from the registry and the ledger as they are now."""
    facts = await core.body_facts(db, request.body, year, years)
    body = cast(rules.Body, request.body)
    if body == "gc":
        signers = [m for m in request.signatures if m in facts.voting]
        needed = rules.GC_REQUEST_SIGNATORIES
    else:
        signers = [m for m in request.signatures if m in facts.seated]
        needed = rules.COUNCIL_REQUEST_SIGNATORIES
    approvers = [m for m in request.approvals if m in facts.seated]
    members = len(facts.seated)
    requested_by = (
        cast(rules.Requester, request.requested_by)
        if body == "council" and request.requested_by
        else None
    )
    convened = rules.extraordinary_convened(
        body,
        signatories=len(signers),
        approvals=len(approvers),
        active_members=members,
        requested_by=requested_by,
    )
    return Standing(
        request,
        len(signers),
        needed,
        len(approvers),
        members,
        rules.extraordinary_approvals_needed(body, members),
        requested_by,
        convened,
    )


RequestStatus = Literal[
    "created",
    "signed",
    "approved",
    "already_signed",
    "already_approved",
    "unknown",  # no such request
    "not_in_good_standing",  # a General Conference request is signed by members in good standing
    "not_seated",  # the member does not sit in the request's body
]


@dataclass(frozen=True)
class RequestOutcome:
    status: RequestStatus
    standing: Standing | None = None
    body: str | None = None  # the body of the request


async def _capacity(
    db: Database, body: str, member: str, *, as_chair: bool
) -> rules.Requester | None:
    """The capacity in which a council member requests a council session by itself: the
    Secretary General's office, or the chair of the council (a chair delegate of the
    member chairing it)."""
    if body != "council":
        return None
    found = await registry.get_member(db, member)
    if found is not None and found.kind == "office":
        return "secretary_general"
    if as_chair and member == await store_meetings.council_chair_member(db, clock.now()):
        return "council_chair"
    return None


async def _refusal(
    db: Database, body: str, member: str, signing: bool, *, year: int, years: int
) -> RequestStatus | None:
    facts = await core.body_facts(db, body, year, years)
    if body == "gc" and signing and member not in facts.voting:
        return "not_in_good_standing"
    if member not in facts.seated:
        return "not_seated"
    return None


async def make_request(
    db: Database,
    body: str,
    questions: str,
    member: str,
    *,
    actor_id: int,
    as_chair: bool,
    year: int,
    years: int,
) -> RequestOutcome:
    """A new request, signed by the member making it (R9)."""
    async with db.transaction() as tx:
        refused = await _refusal(tx.db, body, member, True, year=year, years=years)
        if refused:
            return RequestOutcome(refused, body=body)
        capacity = await _capacity(tx.db, body, member, as_chair=as_chair)
        request_id = await store.create(tx.db, body, questions, member, actor_id, capacity)
        found = await store.get(tx.db, request_id)
        assert found is not None
        state = await standing(tx.db, found, year=year, years=years)
        return RequestOutcome("created", state, body)


async def take_part(
    db: Database,
    request_id: int,
    member: str,
    *,
    signing: bool,
    actor_id: int,
    as_chair: bool,
    year: int,
    years: int,
) -> RequestOutcome:
    """Sign or approve a request for the member, once; the Secretary General or the
    council chair signing a council request requests it in that capacity."""
    async with db.transaction() as tx:
        found = await store.get(tx.db, request_id)
        if found is None:
            return RequestOutcome("unknown")
        refused = await _refusal(tx.db, found.body, member, signing, year=year, years=years)
        if refused:
            return RequestOutcome(refused, body=found.body)
        table = "request_signatures" if signing else "request_approvals"
        if not await store.add(tx.db, table, found.id, member, actor_id):
            status: RequestStatus = "already_signed" if signing else "already_approved"
            return RequestOutcome(status, body=found.body)
        if signing:
            capacity = await _capacity(tx.db, found.body, member, as_chair=as_chair)
            if capacity is not None:
                await store.set_requested_by(tx.db, found.id, capacity)
        fresh = await store.get(tx.db, found.id)
        assert fresh is not None
        state = await standing(tx.db, fresh, year=year, years=years)
        return RequestOutcome("signed" if signing else "approved", state, fresh.body)
