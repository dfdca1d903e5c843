"""Notices from the General Secretariat: audiences, texts per language, drafts, the CLI.

A notice goes to an audience of registered delegates (chairs are delegates of their member
too); secretariat accounts are not recipients unless they are also delegates. Each
recipient gets the text in their own language, else the text written for all languages,
under a translated header; text typed by people is always escaped. Everything is queued
in the outbox (``bot.outbox``) and sent by the delivery loop (``bot.delivery``).

A notice being composed in Telegram lives in the ``drafts`` table, never in memory:
handlers run concurrently, and each step is a compare-and-set on the stored draft, so a
button pressed twice, or an old button, changes nothing.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import callbacks, clock, i18n, rules
from bot import dues as dues_core
from bot.i18n import Html, t
from bot.outbox import Outgoing, Troubled, queue, queue_in, wake
from bot.registry import DuesRow, Member
from bot.store import Database, drafts, people, registry

AUDIENCES = (
    "all",
    "gc",
    "council",
    "arrears",
    "region:african",
    "region:arab",
    "region:asian",
)
KIND = "notice"
DRAFT_KIND = "notice"
# The order in which a text per language is asked for.
TEXT_LANGUAGES = ("ar", "en", "fr")
ROLES = ("delegate", "chair")


class NoRecipients(Exception):
    """Nobody registered belongs to the audience: there is nothing to send."""


@dataclass(frozen=True)
class Recipient:
    telegram_id: int
    member: str
    language: str


def current_year(timezone: str) -> int:
    return clock.now().astimezone(ZoneInfo(timezone)).year


def audience_label(audience: str | None) -> str:
    """The audience's name in the current language."""
    labels = {
        "all": t("All delegates"),
        "gc": t("General Conference"),
        "council": t("Administrative Council"),
        "arrears": t("Members in arrears"),
        "region:african": t("African region"),
        "region:arab": t("Arab region"),
        "region:asian": t("Asian region"),
    }
    if audience in labels:
        return labels[audience]
    return i18n.escape(audience or "-")


# --- audiences -------------------------------------------------------------------------------


def audience_members(
    audience: str,
    members: Iterable[Member],
    ledger: Mapping[str, Sequence[DuesRow]],
    current_year: int,
    good_standing_years: int,
) -> frozenset[str]:
    """The codes of the members whose delegates an audience reaches.

    ``all``: every member; ``gc``: the General Conference (R1, active capitals and cities);
    ``council``: the Administrative Council as the registry seats it (permanent and elected
    members, the Secretary General's office); ``arrears``: the members in arrears (R2);
    ``region:X``: the members of region X.
    """
    everyone = list(members)
    if audience == "all":
        return frozenset(m.code for m in everyone)
    if audience == "gc":
        return frozenset(rules.gc_members(m.facts for m in everyone))
    if audience == "council":
        return frozenset(rules.council_members([m.facts for m in everyone]))
    if audience == "arrears":
        return frozenset(
            m.code
            for m in everyone
            if dues_core.in_arrears(m, ledger.get(m.code, ()), current_year, good_standing_years)
        )
    if audience.startswith("region:") and audience in AUDIENCES:
        region = audience.split(":", 1)[1]
        return frozenset(m.code for m in everyone if m.region == region)
    raise ValueError(f"unknown audience {audience!r}")


def account_language(account: people.Account | None) -> str:
    """The language chosen with /language, else the one Telegram reports, else English."""
    if account is not None and account.language:
        return account.language
    return i18n.language_from_telegram(account.telegram_language if account else None)


async def language_of(db: Database, telegram_id: int) -> str:
    return account_language(await people.account(db, telegram_id))


async def recipients(
    db: Database, audience: str, current_year: int, good_standing_years: int
) -> list[Recipient]:
    """The registered delegates (and chairs) of the audience's members, by Telegram id."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    ledger = await registry.all_dues(db) if audience == "arrears" else {}
    chosen = audience_members(
        audience, await registry.members(db), ledger, current_year, good_standing_years
    )
    return [
        Recipient(a.telegram_id, a.member, account_language(a))
        for a in await people.registered(db)
        if a.role in ROLES and a.member is not None and a.member in chosen
    ]


# --- texts -----------------------------------------------------------------------------------


def text_for(texts: Mapping[str, str], language: str) -> str:
    """The recipient's language, else the text for all languages, else any text there is."""
    return texts.get(language) or texts.get("all") or texts.get("en") or next(iter(texts.values()))


def render(texts: Mapping[str, str], language: str) -> Html:
    """The notice exactly as a recipient in ``language`` sees it."""
    with i18n.use_locale(language):
        header = t("<b>Notice from the General Secretariat</b>")
    return Html(f"{header}\n\n{i18n.escape(text_for(texts, language), lines=True)}")


def clean_texts(texts: Mapping[str, str | None]) -> dict[str, str]:
    """Texts stripped, empty ones left out; ValueError when none is left."""
    found = {k: v.strip() for k, v in texts.items() if v is not None and v.strip()}
    unknown = set(found) - {"all", *i18n.LANGUAGES}
    if unknown:
        raise ValueError(f"unknown text languages {sorted(unknown)}")
    if not found:
        raise ValueError("the notice has no text")
    return found


def messages(found: Iterable[Recipient], texts: Mapping[str, str]) -> list[Outgoing]:
    """One message per recipient, in the recipient's language."""
    rendered: dict[str, Html] = {}
    out = []
    for person in found:
        if person.language not in rendered:
            rendered[person.language] = render(texts, person.language)
        out.append(
            Outgoing(
                person.telegram_id, person.language, rendered[person.language], member=person.member
            )
        )
    return out


async def create(
    db: Database,
    audience: str,
    texts: Mapping[str, str],
    *,
    current_year: int,
    good_standing_years: int,
    created_by: int | None = None,
    actor: str | None = None,
    progress: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """Queue a notice to an audience; returns (notice id, number of recipients).

    Raises ``NoRecipients`` (nothing written) when nobody registered is in the audience."""
    texts = clean_texts(texts)
    found = await recipients(db, audience, current_year, good_standing_years)
    if not found:
        raise NoRecipients(audience)
    notice = await queue(
        db,
        KIND,
        messages(found, texts),
        audience=audience,
        created_by=created_by,
        actor=actor,
        progress=progress,
    )
    return notice, len(found)


# --- drafts ----------------------------------------------------------------------------------

# Draft steps: audience -> mode -> text (one for all) or ar -> en -> fr (one per language)
# -> confirm -> sending (the confirmation was taken; next the draft is queued and dropped)
DRAFT_TTL = timedelta(hours=6)  # an abandoned draft stops catching the person's messages


@dataclass(frozen=True)
class Draft:
    id: str  # a fresh random id per /notice: buttons of an earlier draft do nothing
    step: str = "audience"
    audience: str | None = None
    texts: Mapping[str, str] = field(default_factory=dict)

    @property
    def waiting_for_text(self) -> bool:
        return self.step == "text" or self.step in TEXT_LANGUAGES

    def encode(self) -> str:
        data = {"id": self.id, "step": self.step, "audience": self.audience}
        data["texts"] = dict(self.texts)  # type: ignore[assignment]
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def decode(cls, text: str) -> Draft:
        data = json.loads(text)
        return cls(str(data["id"]), str(data["step"]), data.get("audience"), data.get("texts", {}))

    def with_audience(self, audience: str) -> Draft:
        if self.step != "audience" or audience not in AUDIENCES:
            raise ValueError("not choosing an audience")
        return replace(self, step="mode", audience=audience)

    def with_mode(self, per_language: bool) -> Draft:
        if self.step != "mode":
            raise ValueError("not choosing how to write")
        return replace(self, step=TEXT_LANGUAGES[0] if per_language else "text")

    def with_text(self, text: str) -> Draft:
        """The text typed at this step; the step after it."""
        text = text.strip()
        if not self.waiting_for_text or not text:
            raise ValueError("not waiting for a text")
        key = "all" if self.step == "text" else self.step
        texts = {**self.texts, key: text}
        if self.step in TEXT_LANGUAGES[:-1]:
            following = TEXT_LANGUAGES[TEXT_LANGUAGES.index(self.step) + 1]
            return replace(self, step=following, texts=texts)
        return replace(self, step="confirm", texts=texts)

    def confirmed(self) -> Draft:
        if self.step != "confirm":
            raise ValueError("not waiting for a confirmation")
        return replace(self, step="sending")


async def new_draft(db: Database, telegram_id: int) -> Draft:
    """Start composing; an earlier unfinished draft of this person is dropped."""
    draft = Draft(secrets.token_hex(4))
    await drafts.put(db, telegram_id, DRAFT_KIND, draft.encode(), clock.iso(clock.now()))
    return draft


async def get_draft(db: Database, telegram_id: int) -> Draft | None:
    """The person's notice being composed, unless abandoned for longer than ``DRAFT_TTL``."""
    found = await drafts.get(db, telegram_id, DRAFT_KIND)
    if found is None or clock.parse(found[1]) < clock.now() - DRAFT_TTL:
        return None
    return Draft.decode(found[0])


async def advance(db: Database, telegram_id: int, before: Draft, after: Draft) -> bool:
    """Replace ``before`` with ``after``; False if the stored draft is no longer ``before``
    (another update got there first)."""
    return await drafts.replace(
        db, telegram_id, DRAFT_KIND, before.encode(), after.encode(), clock.iso(clock.now())
    )


async def drop_draft(db: Database, telegram_id: int, draft_id: str) -> bool:
    async with db.transaction() as tx:
        data = await drafts.read(tx, telegram_id, DRAFT_KIND)
        if data is None or Draft.decode(data).id != draft_id:
            return False
        await drafts.take(tx, telegram_id, DRAFT_KIND)
    return True


async def send_draft(
    db: Database,
    telegram_id: int,
    draft: Draft,
    *,
    current_year: int,
    good_standing_years: int,
    progress: tuple[int, int] | None = None,
) -> tuple[int, int] | None:
    """Queue a confirmed draft and drop it, in one transaction; (notice id, recipients),
    or None when the draft was already sent or cancelled. Raises ``NoRecipients``."""
    if draft.step not in ("confirm", "sending") or draft.audience is None:
        return None
    texts = clean_texts(draft.texts)
    found = await recipients(db, draft.audience, current_year, good_standing_years)
    if not found:
        raise NoRecipients(draft.audience)
    async with db.transaction() as tx:
        if not await drafts.take(tx, telegram_id, DRAFT_KIND, draft.encode()):
            return None
        notice = await queue_in(
            tx,
            KIND,
            messages(found, texts),
            audience=draft.audience,
            created_by=telegram_id,
            progress=progress,
        )
    wake()
    return notice, len(found)


# --- progress and the delivery report, in the current language -------------------------------


def progress_text(notice: int, audience: str | None, tally: Mapping[str, int]) -> Html:
    n = i18n.number
    lines: list[str] = [
        t("<b>Notice #{id}</b>: {audience}", id=notice, audience=Html(audience_label(audience))),
        t(
            "Delivered: {delivered} of {recipients}",
            delivered=n(tally["delivered"]),
            recipients=n(tally["recipients"]),
        ),
    ]
    if tally["unreachable"]:
        lines.append(t("Unreachable: {count}", count=n(tally["unreachable"])))
    if tally["failed"]:
        lines.append(t("Failed: {count}", count=n(tally["failed"])))
    if tally["lost"]:
        lines.append(t("Lost: {count}", count=n(tally["lost"])))
    if tally["pending"]:
        lines.append(t("Still to send: {count}", count=n(tally["pending"])))
    else:
        lines.append(t("Sending finished. The delivery report follows."))
    return Html("\n".join(lines))


def report_text(
    notice: int,
    audience: str | None,
    tally: Mapping[str, int],
    troubled: Sequence[Troubled],
    members: Mapping[str, Member],
) -> Html:
    """The final delivery report: the counts, and who was not certainly reached."""
    n = i18n.number
    language = i18n.current()
    lines: list[str] = [
        t("<b>Delivery report for notice #{id}</b>", id=notice),
        t("Audience: {audience}", audience=Html(audience_label(audience))),
        t("Recipients: {count}", count=n(tally["recipients"])),
        t("Delivered: {count}", count=n(tally["delivered"])),
    ]
    for state in ("unreachable", "failed", "lost"):
        concerned = [x for x in troubled if x.state == state]
        if not concerned:
            continue
        count = n(len(concerned))
        lines.append("")
        if state == "unreachable":
            lines.append(
                t("Unreachable (blocked the bot or never started it): {count}", count=count)
            )
        elif state == "failed":
            lines.append(t("Failed after several attempts: {count}", count=count))
        else:
            lines.append(
                t(
                    "Lost (in flight when the bot stopped; may or may not have arrived): {count}",
                    count=count,
                )
            )
        for person in concerned:
            member = members.get(person.member or "")
            name = member.name(language) if member else (person.member or "-")
            who = person.person or t("Telegram account {id}", id=person.telegram_id)
            lines.append("• " + t("{member}, {person}", member=name, person=who))
    if tally["delivered"] == tally["recipients"]:
        lines.append("")
        lines.append(t("Every recipient received the notice."))
    return Html("\n".join(lines))


# --- command line ----------------------------------------------------------------------------


def register_cli(sub: Any) -> None:
    """``notice --audience ... --text ...`` queues; ``notice status ID`` reports."""
    parser = sub.add_parser(
        "notice",
        help="queue a notice for the running bot to send, or show how one is delivered",
        description="Queue a notice: notice --audience AUDIENCE (--text TEXT | --text-en TEXT"
        " --text-fr TEXT --text-ar TEXT) [--json]. Show its delivery: notice status ID [--json].",
    )
    parser.add_argument("action", nargs="?", choices=("status",), help="status ID")
    parser.add_argument("id", nargs="?", help="the notice id, for status")
    parser.add_argument("--audience", choices=AUDIENCES)
    parser.add_argument("--text", help="one text for every language")
    parser.add_argument("--text-en", dest="text_en")
    parser.add_argument("--text-fr", dest="text_fr")
    parser.add_argument("--text-ar", dest="text_ar")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=_cli)


class _Refused(Exception):
    pass


async def _cli(settings: Any, args: argparse.Namespace) -> int:
    # Errors are reported here rather than raised: ``python -m bot`` runs the CLI module as
    # __main__, so its CliError is not the class an import of bot.__main__ would give.
    try:
        if args.action == "status":
            return await _cli_status(settings, args)
        return await _cli_queue(settings, args)
    except _Refused as exc:
        print(f"oicc-bot: {exc}", file=sys.stderr)
        return 2


def _cli_texts(args: argparse.Namespace) -> dict[str, str]:
    per_language = {"en": args.text_en, "fr": args.text_fr, "ar": args.text_ar}
    given = [k for k, v in per_language.items() if v is not None]
    if args.text is not None and given:
        raise _Refused("give either --text, or --text-en, --text-fr and --text-ar, not both")
    if args.text is None and not given:
        raise _Refused("a notice needs --text, or --text-en, --text-fr and --text-ar")
    if given and len(given) != 3:
        missing = ", ".join(f"--text-{k}" for k, v in per_language.items() if v is None)
        raise _Refused(f"a text per language needs all three: {missing} missing")
    texts = {"all": args.text} if args.text is not None else per_language
    empty = [k for k, v in texts.items() if not (v or "").strip()]
    if empty:
        raise _Refused("the text of a notice cannot be empty")
    return {k: v for k, v in texts.items() if v is not None}


async def _cli_queue(settings: Any, args: argparse.Namespace) -> int:
    if args.id is not None:
        raise _Refused(f"unexpected argument {args.id!r}")
    if args.audience is None:
        raise _Refused("a notice needs --audience " + "|".join(AUDIENCES))
    texts = _cli_texts(args)
    db = await Database(settings.database_path).open()
    try:
        try:
            notice, count = await create(
                db,
                args.audience,
                texts,
                current_year=current_year(settings.timezone),
                good_standing_years=settings.good_standing_years,
                actor="cli",
            )
        except NoRecipients:
            raise _Refused(
                f"no registered delegate in audience {args.audience}: nothing queued"
            ) from None
    finally:
        await db.close()
    if args.json:
        print(json.dumps({"id": notice, "recipients": count}))
    else:
        print(f"notice {notice} queued for {count} recipients; the running bot sends it")
    return 0


async def _cli_status(settings: Any, args: argparse.Namespace) -> int:
    from bot.delivery import status

    if args.audience or args.text or args.text_en or args.text_fr or args.text_ar:
        raise _Refused("notice status takes only the notice id (and --json)")
    if args.id is None or not args.id.isdigit():
        raise _Refused("usage: notice status ID [--json]")
    notice_id = callbacks.parse_id(args.id)
    if notice_id is None:
        raise _Refused(f"no notice with id {args.id[:24]}")
    db = await Database(settings.database_path).open()
    try:
        try:
            found = await status(db, notice_id)
        except LookupError:
            raise _Refused(f"no notice with id {args.id}") from None
    finally:
        await db.close()
    if args.json:
        print(json.dumps(found))
    else:
        print(
            f"notice {found['id']}: {found['delivered']} of {found['recipients']} delivered,"
            f" {found['unreachable']} unreachable, {found['failed']} failed,"
            f" {found['lost']} lost, {found['pending']} pending"
        )
    return 0
