"""Command line: ``oicc-bot run|webhook|rehearse|demo|members|dues|invite|revoke|delegates|...``.

Errors print one clear line on stderr and exit with code 2, having written nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from bot import callbacks, clock, invitations, usertext
from bot.config import ConfigError, Settings, load_settings
from bot.registry import (
    ImportProblem,
    Member,
    normalize_code,
    parse_amount,
    parse_dues,
    parse_members,
    parse_year,
)
from bot.store import Database, DatabaseUnavailable, audit, people, registry


class CliError(Exception):
    """A user error: reported as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        actions = self.actions()
        if actions and "required: action" in message:
            group = self.prog.removeprefix("oicc-bot").strip()
            message = f"{group}: choose an action: " + "; ".join(actions)
        print(f"oicc-bot: {message}", file=sys.stderr)
        raise SystemExit(2)

    def actions(self) -> list[str]:
        """``name (help)`` of each action of a group like ``members`` or ``dues``."""
        found: list[str] = []
        for option in self._actions:
            if isinstance(option, argparse._SubParsersAction) and option.dest == "action":
                found += [f"{a.dest} ({a.help})" for a in option._choices_actions]
        return found


def current_year(settings: Settings) -> int:
    return clock.year_in(settings.timezone)


def read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CliError(f"{path} is not UTF-8 text") from None


def emit(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


async def with_db(settings: Settings, work: Callable[[Database], Awaitable[int | None]]) -> int:
    db = await Database(settings.database_path).open()
    try:
        return (await work(db)) or 0
    finally:
        await db.close()


# --- registry and dues -------------------------------------------------------------------


async def members_import(settings: Settings, args: argparse.Namespace) -> int:
    try:
        members = parse_members(read_text(args.file))
    except ImportProblem as exc:
        raise CliError(f"{args.file}: {exc}") from None

    async def work(db: Database) -> int:
        count = await registry.import_members(db, members)
        print(f"{count} members imported")
        return 0

    return await with_db(settings, work)


async def members_list(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        found = await registry.members(db)
        if args.json:
            emit([member_json(m) for m in found])
        elif not found:
            print("no members: import them with oicc-bot members import FILE.csv")
        else:
            width = max(len(m.code) for m in found)
            for m in found:
                seat = "" if m.council == "none" else f", council {m.council}"
                state = "" if m.active else ", inactive"
                print(f"{m.code:<{width}}  {m.name_en} ({m.kind}, {m.region}{seat}{state})")
        return 0

    return await with_db(settings, work)


def member_json(member: Member) -> dict[str, Any]:
    return {
        "code": member.code,
        "name_en": member.name_en,
        "name_fr": member.name_fr,
        "name_ar": member.name_ar,
        "country": member.country,
        "region": member.region,
        "kind": member.kind,
        "council": member.council,
        "active": member.active,
    }


async def dues_import(settings: Settings, args: argparse.Namespace) -> int:
    text = read_text(args.file)

    async def work(db: Database) -> int:
        try:
            rows = parse_dues(text, await registry.member_kinds(db))
        except ImportProblem as exc:
            raise CliError(f"{args.file}: {exc}") from None
        count = await registry.import_dues(db, rows)
        print(f"{count} dues rows imported")
        return 0

    return await with_db(settings, work)


async def dues_pay(settings: Settings, args: argparse.Namespace) -> int:
    code = normalize_code(args.member)
    fund = args.fund.lower()
    if fund not in ("organization", "cooperation_fund"):
        raise CliError("FUND must be organization or cooperation_fund")
    try:
        year = parse_year(args.year)
        amount = parse_amount(args.amount)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if amount <= 0:
        raise CliError("AMOUNT must be greater than zero")

    async def work(db: Database) -> int:
        member = await registry.get_member(db, code)
        if member is None:
            raise CliError(f"unknown member {code}")
        if member.kind == "office":
            raise CliError(f"{code} is the Secretary General's office, which pays no dues")
        row = await registry.record_payment(db, code, year, fund, amount, actor="cli")
        print(f"{code} {year} {fund}: paid {row.paid} of {row.due}")
        return 0

    return await with_db(settings, work)


async def dues_status(settings: Settings, args: argparse.Namespace) -> int:
    from bot import dues

    code = normalize_code(args.member)

    async def work(db: Database) -> int:
        member = await registry.get_member(db, code)
        if member is None:
            raise CliError(f"unknown member {code}")
        report = dues.report(
            member,
            await registry.dues_of(db, code),
            current_year(settings),
            settings.good_standing_years,
        )
        data = report.as_json()
        if args.json:
            emit(data)
        else:
            print(
                f"{code}: good standing {yes_no(data['good_standing'])},"
                f" council eligible {yes_no(data['council_eligible'])}"
            )
            for line in data["years"]:
                print(f"  {line['year']} {line['fund']}: due {line['due']} paid {line['paid']}")
            for reason in data["reasons"]:
                print(f"  {reason_line(reason)}")
        return 0

    return await with_db(settings, work)


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


VERDICTS = {"good_standing": "good standing", "council_eligible": "council eligibility"}
REASONS = {
    "paid_up": "both funds fully paid for every year that counts",
    "inactive": "the member is not active",
    "office_no_dues": "the Secretary General pays no dues and holds a council vote",
    "permanent_member": "a permanent council member is never a candidate",
    "not_capital_or_city": "only capitals and cities",
}


def reason_line(reason: dict[str, Any]) -> str:
    """One reason of ``dues status`` in words, e.g. ``good standing: organization dues for
    2024 not fully paid, 60.00 outstanding``."""
    verdict = VERDICTS.get(reason["verdict"], reason["verdict"])
    if reason["code"] == "unpaid":
        what = (
            f"{reason.get('fund')} dues for {reason.get('year')} not fully paid,"
            f" {reason.get('outstanding')} outstanding"
        )
    else:
        what = REASONS.get(reason["code"], reason["code"])
    return f"{verdict}: {what}"


# --- invitations -------------------------------------------------------------------------


async def invite(settings: Settings, args: argparse.Namespace) -> int:
    try:
        member_code, role = invitations.parse_target(args.member, args.role)
    except ValueError:
        raise CliError(
            "--role secretariat goes with MEMBER 'secretariat'; members take delegate or chair"
        ) from None
    if not settings.bot_username:
        raise CliError("BOT_USERNAME is not set: it is needed to make the invitation link")

    async def work(db: Database) -> int:
        if member_code and await registry.get_member(db, member_code) is None:
            raise CliError(f"unknown member {member_code}")
        issued = await people.issue_invitation(
            db, settings.bot_username, member_code, role, actor="cli"
        )
        if args.json:
            emit(issued.as_json())
        else:
            print(issued.link)
        return 0

    return await with_db(settings, work)


async def revoke(settings: Settings, args: argparse.Namespace) -> int:
    member_code, _ = invitations.parse_target(args.member, None)

    async def work(db: Database) -> int:
        if member_code and await registry.get_member(db, member_code) is None:
            raise CliError(f"unknown member {member_code}")
        count = await people.revoke_invitations(db, member_code, actor="cli")
        print(f"{count} invitations revoked")
        return 0

    return await with_db(settings, work)


# --- meetings and exports ----------------------------------------------------------------


async def meeting_create(settings: Settings, args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from bot.meetings import parse_agenda
    from bot.store import meetings

    timezone = args.timezone or settings.timezone
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(f"unknown time zone {timezone!r}") from None
    try:
        starts = datetime.fromisoformat(args.starts)
    except ValueError:
        raise CliError(f"--starts is not an ISO 8601 time: {args.starts!r}") from None
    if starts.tzinfo is None:
        starts = starts.replace(tzinfo=zone)
    agenda = []
    if args.agenda:
        try:
            agenda = parse_agenda(read_text(args.agenda))
        except ImportProblem as exc:
            raise CliError(f"{args.agenda}: {exc}") from None
    if args.kind == "extraordinary" and not agenda:
        raise CliError(
            "an extraordinary session needs an agenda (--agenda FILE.csv): it"
            " discusses only the questions it was convened for"
        )
    check_title(args.title)
    chair = normalize_code(args.chair_member)

    async def work(db: Database) -> int:
        member = await registry.get_member(db, chair)
        if member is None:
            raise CliError(f"unknown member {chair}")
        if not member.active or member.kind == "office":
            raise CliError(f"{chair} cannot chair: the chair is an active capital or city")
        meeting_id = await meetings.create_meeting(
            db, args.body, args.kind, args.title.strip(), starts, timezone, chair, agenda
        )
        meeting = await meetings.get_meeting(db, meeting_id)
        assert meeting is not None
        from bot.app import Services
        from handlers.meetings import announce_convened

        # Queued in the outbox; the running bot delivers it.
        await announce_convened(Services(settings=settings, db=db), meeting)
        data = meeting.as_json() | {"agenda": [a.item for a in agenda]}
        emit(data) if args.json else print(f"meeting {meeting_id} created")
        return 0

    return await with_db(settings, work)


def check_title(title: str) -> None:
    if not title.strip():
        raise CliError("--title is empty")
    why = usertext.problem(title)
    if why is not None:
        raise CliError(f"--title {why}")


async def meeting_list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.store import meetings

    async def work(db: Database) -> int:
        now = clock.now()
        rows = [
            {
                "id": m.id,
                "body": m.body,
                "kind": m.kind,
                "title": m.title,
                "starts_at": clock.iso(m.starts_at),
                "state": meeting_state(m, now),
            }
            for m in await meetings.all_meetings(db)
        ]
        if args.json:
            emit(rows)
        elif not rows:
            print("no meetings: create one with oicc-bot meeting create")
        for row in [] if args.json else rows:
            print(
                f"{row['id']}  {row['body']} {row['kind']}  {row['starts_at']}"
                f"  {row['state']}  {row['title']}"
            )
        return 0

    return await with_db(settings, work)


def meeting_state(meeting: Any, now: datetime) -> str:
    """scheduled, current (started, quorum not yet established), postponed, in_session or
    closed."""
    if meeting.closed_at is not None:
        return "closed"
    if meeting.starts_at > now:
        return "scheduled"
    if meeting.in_session_at is not None or meeting.reconvened_at is not None:
        return "in_session"
    if meeting.postponed_until is not None:
        return "postponed"
    return "current"


async def meeting_agenda(settings: Settings, args: argparse.Namespace) -> int:
    from bot.meetings import parse_agenda
    from bot.store import meetings

    try:
        items = parse_agenda(read_text(args.file))
    except ImportProblem as exc:
        raise CliError(f"{args.file}: {exc}") from None

    async def work(db: Database) -> int:
        meeting = await meetings.get_meeting(db, args.id)
        if meeting is None:
            raise CliError(f"no meeting {args.id}")
        if meeting.closed_at is not None:
            raise CliError(f"meeting {args.id} is closed")
        if meeting.kind == "extraordinary":
            raise CliError("an extraordinary session keeps the agenda it was convened with")
        existing = {a.item for a in await meetings.agenda(db, args.id)}
        clash = [a.item for a in items if a.item in existing]
        if clash:
            raise CliError(f"already on the agenda: {', '.join(clash)}")
        await meetings.add_agenda(db, args.id, items)
        print(f"{len(items)} agenda items added to meeting {args.id}")
        return 0

    return await with_db(settings, work)


async def meeting_close(settings: Settings, args: argparse.Namespace) -> int:
    from bot.store import meetings

    async def work(db: Database) -> int:
        if await meetings.get_meeting(db, args.id) is None:
            raise CliError(f"no meeting {args.id}")
        try:
            if not await meetings.close_meeting(db, args.id):
                raise CliError(f"meeting {args.id} is already closed")
        except meetings.QuestionStillOpen as exc:
            raise CliError(f"meeting {args.id}: {exc}") from None
        print(f"meeting {args.id} closed")
        return 0

    return await with_db(settings, work)


async def election_create(settings: Settings, args: argparse.Namespace) -> int:
    from bot import elections, meetings
    from bot.store import elections as store_elections
    from bot.store import meetings as store_meetings

    people_ = args.type == "single" and "=" in args.candidates
    try:
        entries = elections.parse_candidates(args.candidates, people_)
    except elections.CandidateProblem as exc:
        raise CliError(f"candidate {exc}") from None
    for entry in entries:
        why = usertext.problem(entry.name or "")
        if why is not None:
            raise CliError(f"candidate {entry.code}: the name {why}")
    seats = args.seats or 1
    if args.type == "single" and seats != 1:
        raise CliError("a single-winner election fills one seat")
    if not 1 <= seats <= 23:
        raise CliError("--seats must be between 1 and 23 (R1: at most 23 elected members)")
    check_title(args.title)

    async def work(db: Database) -> int:
        meeting = await store_meetings.get_meeting(db, args.meeting)
        if meeting is None:
            raise CliError(f"no meeting {args.meeting}")
        if meeting.closed_at is not None:
            raise CliError(f"meeting {args.meeting} is closed")
        members = {m.code: m for m in await registry.members(db)}
        year = current_year(settings)
        if args.type == "council":
            ledger = {
                code: [r.line for r in rows] for code, rows in (await registry.all_dues(db)).items()
            }
            try:
                elections.check_council_candidates(entries, members, ledger, year)
            except elections.CandidateProblem as exc:
                raise CliError(f"candidate {exc}") from None
        elif not people_:
            council = await meetings.body_facts(db, "council", year, settings.good_standing_years)
            outside = [e.code for e in entries if e.code not in council.seated]
            if outside:
                raise CliError(
                    f"not council members: {', '.join(outside)} (a council-chair"
                    " candidate must sit on the council)"
                )
        election_id = await store_elections.create_election(
            db, args.meeting, args.type, args.title.strip(), seats, entries
        )
        data = {
            "id": election_id,
            "meeting": args.meeting,
            "type": args.type,
            "title": args.title.strip(),
            "seats": seats,
            "candidates": [{"code": e.code, "name": e.name} for e in entries],
        }
        emit(data) if args.json else print(f"election {election_id} created")
        return 0

    return await with_db(settings, work)


async def export(settings: Settings, args: argparse.Namespace) -> int:
    from bot import meetings as core
    from bot.store import meetings

    async def work(db: Database) -> int:
        meeting = await meetings.get_meeting(db, args.meeting)
        if meeting is None and args.what != "audit":
            raise CliError(f"no meeting {args.meeting}")
        if args.what == "attendance":
            assert meeting is not None
            data: Any = await core.attendance_export(
                db, meeting, current_year(settings), settings.good_standing_years
            )
            text = core.attendance_csv(data) if args.format == "csv" else None
        elif args.what == "results":
            assert meeting is not None
            data = await core.results_export(db, meeting)
            text = core.results_csv(data) if args.format == "csv" else None
        else:
            data = await audit_rows(db, args.meeting)
            text = audit_csv(data) if args.format == "csv" else None
        if text is None:
            text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        if args.output:
            await asyncio.to_thread(Path(args.output).write_text, text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0

    return await with_db(settings, work)


async def audit_rows(db: Database, meeting: int | None) -> list[dict[str, Any]]:
    rows = []
    for entry in await audit.entries(db):
        details = json.loads(entry.details)
        if meeting is not None and details.get("meeting") not in (None, meeting):
            continue
        rows.append(
            {
                "id": entry.id,
                "at": entry.at,
                "actor": entry.actor,
                "member": entry.member,
                "action": entry.action,
                "details": details,
                "hash": entry.hash,
            }
        )
    return rows


def audit_csv(rows: list[dict[str, Any]]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "at", "actor", "member", "action", "details", "hash"])
    for row in rows:
        writer.writerow(
            [
                row["id"],
                row["at"],
                row["actor"] or "",
                row["member"] or "",
                row["action"],
                json.dumps(row["details"], ensure_ascii=False),
                row["hash"],
            ]
        )
    return out.getvalue()


# --- operations --------------------------------------------------------------------------


async def demo(settings: Settings, args: argparse.Namespace) -> int:
    from bot import demo as demo_data

    async def work(db: Database) -> int:
        loaded = await demo_data.load(db, current_year(settings))
        print("demo conference loaded" if loaded.changed else "demo conference already loaded")
        print("members (code, name):")
        for member in loaded.members:
            print(f"  {member.code:<12} {member.name_en}")
        if loaded.meeting is not None:
            print(f"meeting {loaded.meeting}: General Conference (demo), hosted by RABAT")
        print("next: oicc-bot invite CODE (e.g. oicc-bot invite CAIRO) prints an invitation")
        print("      link; open it in Telegram while oicc-bot run is running")
        return 0

    return await with_db(settings, work)


def _backup_target(file: str) -> Path:
    target = Path(file)
    if target.exists():
        raise CliError(f"{target} exists: choose a new file")
    if not target.parent.is_dir():
        raise CliError(f"{target.parent} is not a directory")
    return target


def _finish_backup(partial: Path, target: Path | None) -> None:
    """Check the copy, then give it its name: a file with that name is a whole backup.
    Without a target (the copy failed) only remove what was written."""
    import contextlib
    import os
    import sqlite3

    try:
        if target is None:
            return
        with contextlib.closing(sqlite3.connect(partial)) as copy:
            check = copy.execute("PRAGMA quick_check").fetchone()
        if not check or check[0] != "ok":
            raise CliError(f"the copy failed its integrity check: {check}")
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise CliError(f"cannot check the copy: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)


async def backup(settings: Settings, args: argparse.Namespace) -> int:
    import sqlite3

    target = _backup_target(args.file)
    partial = target.with_name(f".{target.name}.partial")

    async def work(db: Database) -> int:
        try:
            await db.backup(str(partial))
        except sqlite3.Error as exc:
            _finish_backup(partial, None)
            raise CliError(f"cannot write {target}: {exc}") from None
        _finish_backup(partial, target)
        print(f"backup written to {target}")
        return 0

    return await with_db(settings, work)


async def audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from bot.audit import verify_log

    async def work(db: Database) -> int:
        found, head = await audit.log_and_head(db)
        problem = verify_log(found, head)
        if problem is not None:
            print(
                f"audit log broken at entry {problem.entry_id}: {problem.reason}", file=sys.stderr
            )
            return 1
        if head is None:
            print("audit log intact: it is empty")
        else:
            # Recorded in the minutes, the head lets a later check see a rewritten log.
            print(f"audit log intact: {len(found)} entries, head {head.id} {head.hash}")
        return 0

    return await with_db(settings, work)


async def forget(settings: Settings, args: argparse.Namespace) -> int:
    raw = args.telegram_id.strip()
    telegram_id = callbacks.parse_id(raw)
    if telegram_id is None:
        raise CliError("TELEGRAM_ID must be a Telegram user id (a positive number)")

    async def work(db: Database) -> int:
        if not await audit.forget(db, telegram_id):
            raise CliError(f"no person with Telegram id {raw}")
        print(f"personal data of {raw} erased; votes and the audit log are kept")
        return 0

    return await with_db(settings, work)


# --- delegates: who speaks for a member, and unbinding a lost phone ------------------------


async def delegates_list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.store.delegates import delegates

    code = normalize_code(args.member) if args.member else None

    async def work(db: Database) -> int:
        if code and await registry.get_member(db, code) is None:
            raise CliError(f"unknown member {code}")
        found = await delegates(db, code)
        if args.json:
            emit([d.as_json() for d in found])
            return 0
        for d in found:
            joined = clock.iso(d.joined_at) if d.joined_at else "-"
            name = d.first_name or "-"
            if d.username:
                name += f" (@{d.username})"
            print(f"{d.member}\t{d.role}\t{d.telegram_id}\t{name}\tjoined {joined}")
        return 0

    return await with_db(settings, work)


async def delegates_unbind(settings: Settings, args: argparse.Namespace) -> int:
    from bot.usecases.delegates import UnbindRefused, unbind

    raw = args.telegram_id.strip()
    telegram_id = callbacks.parse_id(raw)
    if telegram_id is None:
        raise CliError("TELEGRAM_ID must be a Telegram user id (a positive number)")

    async def work(db: Database) -> int:
        outcome = await unbind(db, telegram_id, actor="cli")
        if isinstance(outcome, UnbindRefused):
            if outcome.reason == "secretariat_account":
                raise CliError(f"{raw} is a secretariat account: it speaks for no member")
            raise CliError(f"no delegate's account has the Telegram id {raw}")
        print(f"{raw} no longer speaks for {outcome.member}; votes it cast stay")
        return 0

    return await with_db(settings, work)


def run_polling(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_application, services

    # Every setting is checked before anything is written.
    settings.require_token()
    asyncio.run(check_database(settings))
    application = build_application(settings)
    if args.demo:
        started = application.post_init
        assert started is not None

        async def with_demo(app: Any) -> None:
            await started(app)
            await _demo_if_empty(services(app).db, settings)

        # Loaded once Telegram accepted the token and the database is open: a bot that
        # cannot start writes nothing.
        application.post_init = with_demo
    return serve(settings, lambda: application.run_polling(allowed_updates=UPDATES))


async def check_database(settings: Settings) -> None:
    """Open an existing database once (upgrading its schema) so that a damaged file stops
    the bot before it contacts Telegram. A missing file is created later, once the bot
    has started."""
    if not await asyncio.to_thread(Path(settings.database_path).exists):
        return
    db = await Database(settings.database_path).open()
    await db.close()


async def _demo_if_empty(db: Database, settings: Settings) -> None:
    from bot import demo as demo_data

    if await registry.member_count(db) == 0:
        await demo_data.load(db, current_year(settings))


def run_webhook(settings: Settings, args: argparse.Namespace) -> int:
    import re

    from bot.web.webhook import serve_webhook

    if not settings.webhook_url:
        raise CliError("WEBHOOK_URL is not set")
    if not settings.webhook_secret:
        raise CliError("WEBHOOK_SECRET is not set: the webhook refuses requests without it")
    # Telegram's rule for secret tokens: checked here rather than refused at setWebhook.
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", settings.webhook_secret):
        raise CliError("WEBHOOK_SECRET must be 1 to 256 characters A-Z, a-z, 0-9, _ or -")
    return serve(settings, lambda: asyncio.run(serve_webhook(settings, UPDATES, "0.0.0.0")))


def rehearse(settings: Settings, args: argparse.Namespace) -> int:
    """The whole bot in a web page, against the local Bot API server: never Telegram."""
    from bot.rehearsal import RehearsalError, refuse_live_database
    from bot.web.rehearsal import run_rehearsal

    source = Path(args.database) if args.database else None
    try:
        if source is not None:
            refuse_live_database(source, settings.database_path)
        return asyncio.run(run_rehearsal(settings, args.host, args.port, source))
    except RehearsalError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None


UPDATES = ["message", "callback_query"]


def serve(settings: Settings, run: Callable[[], None]) -> int:
    """Run the bot until it is stopped. A failure to start is one line on stderr; any other
    failure goes through logging: neither may print the token (Telegram's refusal of a token
    quotes it)."""
    import logging

    import httpx
    from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut

    from bot.app import failed_method
    from bot.logs import redact, secret_forms

    secrets = secret_forms([settings.bot_token, settings.webhook_secret])
    # PTB logs a start-up failure with its traceback before raising it; it is said here,
    # in one line, instead.
    quiet = StartupRetries()
    logging.getLogger("telegram.ext").addFilter(quiet)
    try:
        run()
    except InvalidToken:
        raise CliError("Telegram rejected BOT_TOKEN: check it with @BotFather") from None
    except (NetworkError, TelegramError) as exc:
        method = failed_method(exc) or "a Bot API call"
        reason = redact(str(exc), secrets)
        if isinstance(exc, TimedOut) or isinstance(exc.__cause__, httpx.HTTPError):
            # No answer at all: the address is wrong or the network is down.
            raise CliError(
                f"cannot reach the Bot API at {settings.telegram_api_url} ({method}: {reason});"
                " check the network, or whether TELEGRAM_API_URL should point elsewhere"
            ) from None
        raise CliError(
            f"cannot start the bot: the Bot API at {settings.telegram_api_url} refused"
            f" {method}: {reason}"
        ) from None
    except DatabaseUnavailable as exc:
        raise CliError(str(exc)) from None
    except Exception:
        logging.getLogger("bot").critical("the bot stopped", exc_info=True)
        return 1
    finally:
        logging.getLogger("telegram.ext").removeFilter(quiet)
    return 0


class StartupRetries:
    """Drops PTB's report of a failed start-up step ("Network Retry Loop (Bootstrap ...")"""

    def filter(self, record: Any) -> bool:
        return not record.getMessage().startswith("Network Retry Loop (Bootstrap")


def record_id(text: str) -> int:
    """An id on the command line: a number that can exist in the database."""
    found = callbacks.parse_id(text)
    if found is None:
        raise argparse.ArgumentTypeError(f"no such id: {text[:24]!r}")
    return found


def build_parser() -> Parser:
    parser = Parser(prog="oicc-bot", description="OICC delegates bot")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    run = sub.add_parser("run", help="run the bot with long polling")
    run.add_argument(
        "--demo", action="store_true", help="load the demo conference into an empty database first"
    )
    run.set_defaults(sync=run_polling)
    sub.add_parser("webhook", help="run the bot behind a webhook").set_defaults(sync=run_webhook)
    reh = sub.add_parser(
        "rehearse", help="rehearse a session in the browser, with no Telegram account"
    )
    reh.add_argument("--port", type=int, default=8080, help="the page's port (0 picks one)")
    reh.add_argument("--host", default="127.0.0.1", help="the page's address (default 127.0.0.1)")
    reh.add_argument(
        "--database", help="rehearse on a copy of this database (never the file itself)"
    )
    reh.set_defaults(sync=rehearse)
    sub.add_parser("demo", help="load the demo conference").set_defaults(handler=demo)

    members = sub.add_parser("members", help="the member registry").add_subparsers(
        dest="action", required=True, parser_class=Parser
    )
    imp = members.add_parser("import", help="import members from CSV")
    imp.add_argument("file")
    imp.set_defaults(handler=members_import)
    listing = members.add_parser("list", help="list the members")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=members_list)

    dues = sub.add_parser("dues", help="the dues ledger").add_subparsers(
        dest="action", required=True, parser_class=Parser
    )
    imp = dues.add_parser("import", help="import dues from CSV")
    imp.add_argument("file")
    imp.set_defaults(handler=dues_import)
    pay = dues.add_parser("pay", help="record a payment")
    for name in ("member", "year", "fund", "amount"):
        pay.add_argument(name)
    pay.set_defaults(handler=dues_pay)
    status = dues.add_parser("status", help="a member's dues and standing")
    status.add_argument("member")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=dues_status)

    inv = sub.add_parser("invite", help="issue an invitation link")
    inv.add_argument("member", help="member code, or 'secretariat'")
    inv.add_argument("--role", choices=invitations.ROLES)
    inv.add_argument("--json", action="store_true")
    inv.set_defaults(handler=invite)
    rev = sub.add_parser("revoke", help="revoke a member's unused invitations")
    rev.add_argument("member")
    rev.set_defaults(handler=revoke)

    meeting = sub.add_parser("meeting", help="meetings").add_subparsers(
        dest="action", required=True, parser_class=Parser
    )
    create = meeting.add_parser("create", help="create a meeting")
    create.add_argument("--body", choices=("gc", "council"), required=True)
    create.add_argument("--kind", choices=("ordinary", "extraordinary"), required=True)
    create.add_argument("--title", required=True)
    create.add_argument("--starts", required=True, help="ISO 8601 start time")
    create.add_argument("--timezone", help="IANA time zone (default: TIMEZONE)")
    create.add_argument("--chair-member", required=True)
    create.add_argument("--agenda", help="agenda CSV: item,title_en,title_fr,title_ar")
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=meeting_create)
    agenda = meeting.add_parser("agenda", help="add agenda items to an ordinary session")
    agenda.add_argument("id", type=record_id)
    agenda.add_argument("file")
    agenda.set_defaults(handler=meeting_agenda)
    listing = meeting.add_parser("list", help="list the meetings")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=meeting_list)
    close = meeting.add_parser("close", help="close a meeting")
    close.add_argument("id", type=record_id)
    close.set_defaults(handler=meeting_close)

    elect = sub.add_parser("election", help="elections").add_subparsers(
        dest="action", required=True, parser_class=Parser
    )
    create = elect.add_parser("create", help="create an election in a meeting")
    create.add_argument("--meeting", type=record_id, required=True)
    create.add_argument("--type", choices=("council", "single"), required=True)
    create.add_argument("--title", required=True)
    create.add_argument("--seats", type=int)
    create.add_argument(
        "--candidates", required=True, help="member codes A,B,...; for people CODE=Full name,..."
    )
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=election_create)

    exp = sub.add_parser("export", help="attendance, results or the audit log for the minutes")
    exp.add_argument("what", choices=("attendance", "results", "audit"))
    exp.add_argument("--meeting", type=record_id)
    exp.add_argument("--format", choices=("json", "csv"), default="json")
    exp.add_argument("--output")
    exp.set_defaults(handler=export)

    bak = sub.add_parser("backup", help="copy the database while the bot runs")
    bak.add_argument("file")
    bak.set_defaults(handler=backup)
    aud = sub.add_parser("audit", help="the audit log").add_subparsers(
        dest="action", required=True, parser_class=Parser
    )
    aud.add_parser("verify", help="check the hash chain").set_defaults(handler=audit_verify)
    fgt = sub.add_parser("forget", help="erase a delegate's personal data")
    fgt.add_argument("telegram_id")
    fgt.set_defaults(handler=forget)
    dlg = sub.add_parser("delegates", help="who speaks for each member").add_subparsers(
        dest="action", required=True, parser_class=Parser
    )
    lst = dlg.add_parser("list", help="the accounts that speak for members")
    lst.add_argument("member", nargs="?")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=delegates_list)
    unb = dlg.add_parser("unbind", help="an account no longer speaks for its member")
    unb.add_argument("telegram_id")
    unb.set_defaults(handler=delegates_unbind)
    from bot.notices import register_cli as notice_cli

    notice_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "what", None) in ("attendance", "results") and args.meeting is None:
        parser.error(f"export {args.what} needs --meeting ID")
    try:
        settings = load_settings()
        if hasattr(args, "sync"):
            return int(args.sync(settings, args))
        return int(asyncio.run(args.handler(settings, args)))
    except (CliError, ConfigError, DatabaseUnavailable) as exc:
        print(f"oicc-bot: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
