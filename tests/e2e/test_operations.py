"""Operations and trust: webhook mode, the audit log and its verification, backups while
the bot runs, forgetting a person, logs without the token, errors, the per-user slowdown.

The command line runs as the operators run it, ``python -m bot ...`` in a separate
process, on the same SQLite file as the running bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import logging
import os
import re
import signal
import socket
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.audit import entry_hash
from bot.botapi.server import detect_commands, visible
from bot.config import Settings
from bot.store import Database, people
from handlers.common import SlowDown
from tests.e2e.conftest import TOKEN, YEAR, Harness, load_demo, make_settings
from tests.e2e.test_meetings import SIX, chair_of, delegates, gc_meeting, in_session, opened, vote

# --- running the command line next to the bot ------------------------------------------------


def bot_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of an operator's shell for the bot of ``settings``."""
    return {
        **os.environ,
        "BOT_TOKEN": settings.bot_token,
        "TELEGRAM_API_URL": settings.telegram_api_url,
        "DATABASE_PATH": settings.database_path,
        "SECRETARIAT_IDS": ",".join(map(str, sorted(settings.secretariat_ids))),
        "BOT_USERNAME": settings.bot_username,
        "POSTPONEMENT_MINUTES": str(settings.postponement_minutes),
        "USER_COMMANDS_PER_MINUTE": str(settings.user_commands_per_minute),
        **extra,
    }


async def oicc(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """``oicc-bot ARGS`` in its own process: exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def exported(env: dict[str, str], what: str, meeting: int) -> Any:
    code, out, err = await oicc(env, "export", what, "--meeting", str(meeting), "--format", "json")
    assert code == 0, err
    return json.loads(out)


# --- webhook mode ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def message_update(update_id: int, user: Any, text: str) -> dict[str, Any]:
    """An update as Telegram would POST it for a message ``user`` typed."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": user.chat(),
            "from": user.to_api(),
            "text": text,
            "entities": detect_commands(text),
        },
    }


async def post(url: str, update: dict[str, Any], secret: str | None) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    deadline = time.monotonic() + 15
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.post(url, json=update, headers=headers) as response:
                    return response.status
            except aiohttp.ClientConnectionError:  # the bot is not listening yet
                assert time.monotonic() < deadline, "the webhook never started listening"
                await asyncio.sleep(0.1)


async def test_webhook_refuses_to_start_without_its_secret(server, tmp_path):
    settings = make_settings(tmp_path, server)
    url = f"http://127.0.0.1:{free_port()}/hook"
    code, _, err = await oicc(bot_env(settings, WEBHOOK_URL=url, WEBHOOK_SECRET=""), "webhook")
    assert code == 2 and "WEBHOOK_SECRET" in err and len(err.strip().splitlines()) == 1
    code, _, err = await oicc(bot_env(settings, WEBHOOK_URL=url, WEBHOOK_SECRET="a b"), "webhook")
    assert code == 2 and "WEBHOOK_SECRET" in err
    code, _, err = await oicc(bot_env(settings, WEBHOOK_SECRET="s3cret"), "webhook")
    assert code == 2 and "WEBHOOK_URL" in err
    assert server.calls_to("setWebhook") == []


async def test_webhook_mode_answers_only_telegram(server, tmp_path):
    settings = make_settings(tmp_path, server)
    await load_demo(settings.database_path)
    db = await Database(settings.database_path).open()
    try:
        issued = await people.issue_invitation(db, "oicc_test_bot", "AMMAN", "delegate", actor="t")
    finally:
        await db.close()
    port = free_port()
    url, secret = f"http://127.0.0.1:{port}/telegram/hook", "Webhook_s3cret-42"
    env = bot_env(settings, WEBHOOK_URL=url, WEBHOOK_SECRET=secret, PORT=str(port))
    env["LOG_LEVEL"] = "DEBUG"
    log = tmp_path / "webhook.log"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "webhook",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        deadline = time.monotonic() + 20
        while server.webhook is None:
            assert process.returncode is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.05)
        assert server.webhook["url"] == url
        assert server.webhook["secret_token"] == secret

        hana = server.user(4001, "Hana", language_code="en", started=True)
        join = message_update(10_001, hana, f"/start {issued.code}")
        # Without Telegram's header, or with another secret: refused, and nothing happens.
        assert await post(url, join, None) == 403
        assert await post(url, join, "Webhook_s3cret-43") == 403
        assert await post(url, join, secret[:-1]) == 403
        await hana.expect_nothing(0.5)
        path = settings.database_path
        assert count(path, "SELECT count(*) FROM users WHERE telegram_id = 4001") == 0
        assert count(path, "SELECT count(*) FROM invitations WHERE used_at IS NOT NULL") == 0
        # With the secret the bot answers, through the Bot API.
        assert await post(url, join, secret) == 200
        await hana.expect(["Welcome", "Amman"], timeout=10)
        # Telegram itself (here the fake server) delivers with the secret too.
        await hana.send("/dues")
        await hana.expect(["Dues of", "Amman"], timeout=10)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 15)
    output = log.read_text()
    assert output, "the bot logged nothing at DEBUG"
    for secret_text in (TOKEN, TOKEN.split(":")[1], secret):
        assert secret_text not in output


# --- the audit log ---------------------------------------------------------------------------


async def test_every_state_change_is_in_the_audit_log(bot, server, secretariat, tmp_path):
    env = bot_env(bot.settings)
    await secretariat.send("/invite AMMAN")
    await secretariat.expect("Invitation for")
    await secretariat.send("/revoke AMMAN")
    await secretariat.expect("1 unused invitation revoked")
    meeting = await gc_meeting(bot)
    chair = await chair_of(bot, server)
    users = await delegates(bot, server, SIX)
    await chair.send("/checkin")
    await chair.expect("checked in")
    await chair.send("/call_quorum")  # 1 of 7 needed: postponed, then reconvened by itself
    await chair.expect_unordered("postponed until", "quorum was not reached")
    await chair.expect("reconvened", timeout=10)
    await server.wait_idle()
    for user in users.values():
        user.skip()
    for user in users.values():
        await user.send("/checkin")
        await user.expect("checked in")
    amman = users["AMMAN"]
    await amman.send("/checkout")
    await amman.expect("checked out")
    await amman.send("/checkin")
    await amman.expect("checked in")
    await chair.send("/motion 1")
    ballot, _ = await opened(chair)
    await vote(chair, ballot, "Yes")
    for code in ("AMMAN", "RABAT"):
        await vote(users[code], await users[code].expect("Item"), "No")
    await chair.send("/close")
    await chair.expect("Roll")
    await chair.send("/announce")
    await chair.expect_unordered("being sent", "Roll", "Chart of the result", timeout=10)
    for user in users.values():  # everything up to the result's chart, which comes last
        while "Chart of the result" not in (await user.expect(timeout=10)).text:
            pass
    await server.wait_idle()
    for user in [chair, *users.values()]:
        user.skip()
    await chair.send("/motion 2 secret")
    ballot, _ = await opened(chair)
    await vote(chair, ballot, "Yes")
    await vote(users["DAKAR"], await users["DAKAR"].expect("Secret ballot"), "No")
    await chair.send("/close")
    await chair.expect("Roll")
    await secretariat.send(f"/paid TUNIS {YEAR - 1} organization 100")
    await secretariat.expect("Payment recorded")
    ledger = tmp_path / "dues.csv"
    ledger.write_text(f"member,year,fund,due,paid\nTUNIS,{YEAR},organization,5000,0\n")
    assert (await oicc(env, "dues", "import", str(ledger)))[0] == 0
    assert (await oicc(env, "notice", "--audience", "gc", "--text", "Session resumes"))[0] == 0
    await chair.send("/adjourn")
    # the notice queued just before reaches the chair too, before or after the answer
    await chair.expect_unordered("closed", "Session resumes")
    await server.wait_idle()
    # Every notice finished (each appends its notice_finished entry), so the log is still.
    for _ in range(400):
        if not (await bot.db.one("SELECT count(*) FROM notices WHERE finished_at IS NULL"))[0]:
            break
        await asyncio.sleep(0.05)

    code, out, err = await oicc(env, "export", "audit", "--format", "json")
    assert code == 0, err
    log = json.loads(out)
    actions = {entry["action"] for entry in log}
    assert {
        "members_imported",
        "dues_imported",
        "invitation_issued",
        "invitations_revoked",
        "delegate_registered",
        "meeting_created",
        "checked_in",
        "checked_out",
        "quorum_postpone",
        "meeting_reconvened",
        "vote_opened",
        "vote_cast",
        "vote_closed",
        "result_announced",
        "notice_queued",
        "payment_recorded",
        "meeting_closed",
    } <= actions, actions
    open_q, secret_q = [e["details"]["question"] for e in log if e["action"] == "vote_opened"]
    cast = [e for e in log if e["action"] == "vote_cast"]
    assert sorted(e["member"] for e in cast if e["details"]["question"] == open_q) == [
        "AMMAN",
        "CAIRO",
        "RABAT",
    ]
    assert all("choice" in e["details"] for e in cast if e["details"]["question"] == open_q)
    # a secret ballot: only the fact that the member voted
    secret_cast = [e for e in cast if e["details"]["question"] == secret_q]
    assert len(secret_cast) == 2 and all(
        e["details"] == {"question": secret_q} for e in secret_cast
    )
    # people appear by pseudonym only
    actors = {e["actor"] for e in log} - {None, "cli", "bot", "test", "demo"}
    assert actors and all(re.fullmatch(r"u-[0-9a-f]{16}", a) for a in actors), actors
    for user in [chair, secretariat, *users.values()]:
        assert all(str(user.id) not in json.dumps(e["details"]) for e in log)
    assert [e["id"] for e in log] == list(range(1, len(log) + 1))

    code, out, err = await oicc(env, "audit", "verify")
    assert code == 0 and "intact" in out and f"{len(log)} entries" in out, err
    code, out, _ = await oicc(env, "export", "audit", "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert code == 0 and rows[0] == ["id", "at", "actor", "member", "action", "details", "hash"]
    assert [(int(r[0]), r[6]) for r in rows[1 : len(log) + 1]] == [
        (e["id"], e["hash"]) for e in log
    ]
    code, out, _ = await oicc(env, "export", "audit", "--meeting", str(meeting), "--format", "json")
    assert code == 0 and {e["action"] for e in json.loads(out)} >= {"vote_cast", "checked_in"}


def tamper(path: Path, *statements: str, params: tuple[Any, ...] = ()) -> None:
    """What someone with the file and the sqlite3 shell could do."""
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("DROP TRIGGER IF EXISTS audit_log_append_only_update")
        conn.execute("DROP TRIGGER IF EXISTS audit_log_append_only_delete")
        for statement in statements:
            conn.execute(statement, params if "?" in statement else ())


async def test_audit_verify_names_the_first_bad_entry(bot, server, tmp_path):
    users = await delegates(bot, server, SIX)
    await gc_meeting(bot)
    for user in users.values():
        await user.send("/checkin")
        await user.expect("checked in")
    env = bot_env(bot.settings)
    count = (await bot.db.one("SELECT count(*) FROM audit_log"))[0]
    assert count > 10

    async def copy(name: str) -> tuple[Path, dict[str, str]]:
        path = tmp_path / f"{name}.sqlite3"
        code, _, err = await oicc(env, "backup", str(path))
        assert code == 0, err
        return path, bot_env(bot.settings, DATABASE_PATH=str(path))

    async def verdict(copy_env: dict[str, str]) -> str:
        code, out, err = await oicc(copy_env, "audit", "verify")
        assert code == 1 and out == "", (out, err)
        assert len(err.strip().splitlines()) == 1
        return err

    # the log is append-only for the application and anyone who does not drop the triggers
    path, copy_env = await copy("intact")
    with contextlib.closing(sqlite3.connect(path)) as conn:
        for statement in (
            "UPDATE audit_log SET details = '{}' WHERE id = 2",
            "DELETE FROM audit_log",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(statement)
    assert (await oicc(copy_env, "audit", "verify"))[0] == 0

    path, copy_env = await copy("edited")
    tamper(path, "UPDATE audit_log SET details = '{\"count\":99}' WHERE id = 2")
    assert "broken at entry 2: altered" in await verdict(copy_env)

    path, copy_env = await copy("removed")
    tamper(path, "DELETE FROM audit_log WHERE id = 5")
    assert "broken at entry 6: entry 5 removed before it" in await verdict(copy_env)

    # removed, and the ids after it renumbered to hide the gap
    path, copy_env = await copy("removed-renumbered")
    tamper(
        path,
        "DELETE FROM audit_log WHERE id = 5",
        "UPDATE audit_log SET id = -id WHERE id > 5",
        "UPDATE audit_log SET id = -id - 1 WHERE id < 0",
    )
    assert "broken at entry 5: 1 entry removed before it" in await verdict(copy_env)

    # a forged entry at the end, with a made-up hash
    path, copy_env = await copy("appended")
    last_hash = (await bot.db.one("SELECT hash FROM audit_log WHERE id = ?", (count,)))[0]
    tamper(
        path,
        "INSERT INTO audit_log (id, at, actor, member, action, details, prev_hash, hash)"
        " VALUES (?, '2026-01-01T00:00:00+00:00', 'cli', 'TUNIS', 'payment_recorded', '{}', ?, ?)",
        params=(count + 1, last_hash, "f" * 64),
    )
    assert f"broken at entry {count + 1}: altered" in await verdict(copy_env)

    # a forged entry in the middle, its hash computed properly, the entries after renumbered
    path, copy_env = await copy("inserted")
    before = (await bot.db.one("SELECT hash FROM audit_log WHERE id = 4"))[0]
    forged = ("2026-01-01T00:00:00+00:00", "cli", "TUNIS", "payment_recorded", '{"year":2025}')
    tamper(
        path,
        "UPDATE audit_log SET id = -id WHERE id >= 5",
        "UPDATE audit_log SET id = -id + 1 WHERE id < 0",
        "INSERT INTO audit_log (id, at, actor, member, action, details, prev_hash, hash)"
        " VALUES (5, ?, ?, ?, ?, ?, ?, ?)",
        params=(*forged, before, entry_hash(5, *forged, before)),
    )
    assert "broken at entry 5: inserted: entry 5" in await verdict(copy_env)

    # the last entries removed: the chain that is left is intact, its head record is not
    path, copy_env = await copy("truncated")
    tamper(path, f"DELETE FROM audit_log WHERE id > {count - 2}")
    err = await verdict(copy_env)
    assert f"broken at entry {count - 1}: removed: the log ends at entry {count - 2}" in err


# --- backups ---------------------------------------------------------------------------------


def count(path: str | Path, sql: str, params: tuple[Any, ...] = ()) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return int(conn.execute(sql, params).fetchone()[0])


def consistent(path: Path, question: int) -> None:
    """A copy taken mid-vote holds whole votes only: each with its participation row and
    its audit entry, never one without the others."""
    participation = count(
        path, "SELECT count(*) FROM participation WHERE question = ?", (question,)
    )
    votes = count(path, "SELECT count(*) FROM votes WHERE question = ?", (question,))
    logged = count(
        path,
        "SELECT count(*) FROM audit_log WHERE action = 'vote_cast'"
        " AND json_extract(details, '$.question') = ?",
        (question,),
    )
    assert participation == votes == logged


async def test_backup_while_votes_are_cast(bot, server, tmp_path):
    env = bot_env(bot.settings)
    meeting = await gc_meeting(bot)
    chair, users = await in_session(bot, server, SIX)
    await chair.send("/motion 1")
    chair_ballot, _ = await opened(chair)
    question = (await bot.db.one("SELECT max(id) FROM questions"))[0]
    ballots = {code: await user.expect("Item") for code, user in users.items()}
    copies: list[Path] = []

    async def voter(n: int, code: str) -> None:
        await asyncio.sleep(0.12 * n)
        await vote(users[code], ballots[code], "Yes" if n % 2 else "No")

    async def backups() -> None:
        for n in range(3):
            path = tmp_path / f"during-{n}.sqlite3"
            code, out, err = await oicc(env, "backup", str(path))
            assert code == 0 and "backup written" in out, err
            copies.append(path)

    await asyncio.gather(backups(), *(voter(n, code) for n, code in enumerate(SIX)))
    for path in copies:
        consistent(path, question)
        code, _, err = await oicc(bot_env(bot.settings, DATABASE_PATH=str(path)), "audit", "verify")
        assert code == 0, err
    await vote(chair, chair_ballot, "Yes")
    await chair.send("/close")
    await chair.expect("Roll")
    await server.wait_idle()
    final = tmp_path / "final.sqlite3"
    assert (await oicc(env, "backup", str(final)))[0] == 0
    # the bot is still running: the copy says what the original says
    copy_env = bot_env(bot.settings, DATABASE_PATH=str(final))
    for what in ("results", "attendance"):
        assert await exported(copy_env, what, meeting) == await exported(env, what, meeting)
    assert len((await exported(copy_env, "results", meeting))["questions"][0]["votes"]) == 7
    # a backup never overwrites a file, and says so on one line
    code, _, err = await oicc(env, "backup", str(final))
    assert code == 2 and "exists" in err and len(err.strip().splitlines()) == 1
    code, _, err = await oicc(env, "backup", str(tmp_path / "missing" / "x.sqlite3"))
    assert code == 2 and "not a directory" in err


# --- forgetting a person ---------------------------------------------------------------------


def occurrences(path: str, needles: list[str], number: int) -> list[str]:
    """Every table and column that still holds one of ``needles`` or the id ``number``."""
    found = []
    with contextlib.closing(sqlite3.connect(path)) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            for column in columns:
                hits = conn.execute(
                    f'SELECT count(*) FROM "{table}" WHERE "{column}" = ?'
                    + "".join(f' OR instr(CAST("{column}" AS TEXT), ?) > 0' for _ in needles),
                    (number, *needles),
                ).fetchone()[0]
                if hits:
                    found.append(f"{table}.{column}")
    return found


async def notice_status(env: dict[str, str], notice: int) -> Any:
    code, out, err = await oicc(env, "notice", "status", str(notice), "--json")
    assert code == 0, err
    return json.loads(out)


def file_holds(path: str, needles: list[bytes]) -> list[str]:
    """The database files (main and write-ahead log) that still contain one of ``needles``."""
    files = [Path(path), Path(f"{path}-wal")]
    return [str(f) for f in files if f.exists() and any(n in f.read_bytes() for n in needles)]


async def test_forget_erases_the_person_and_keeps_the_record(bot, server, secretariat, tmp_path):
    env = bot_env(bot.settings)
    meeting = await gc_meeting(bot)
    zubaida = server.user(7345678, "Zubaida", username="zubaida_k", language_code="en")
    await bot.join(zubaida, "CAIRO", role="chair")  # she chairs and votes
    users = await delegates(bot, server, SIX)
    await zubaida.send("/checkin")
    await zubaida.expect("checked in")
    for user in users.values():
        await user.send("/checkin")
        await user.expect("checked in")
    await zubaida.send("/call_quorum")
    await zubaida.expect("Quorate")
    for item, secret in (("1", ""), ("2", " secret")):
        await zubaida.send(f"/motion {item}{secret}")
        ballot, _ = await opened(zubaida)
        await vote(zubaida, ballot, "Yes")
        for code in ("AMMAN", "RABAT", "DAKAR"):
            await vote(users[code], await users[code].expect("Item"), "Yes")
        await zubaida.send("/close")
        await zubaida.expect("Roll")
    # she blocks the bot and a notice cannot reach her: the report names her
    zubaida.block()
    server.expect_rejections(403, "blocked")
    await secretariat.send("/notice")
    menu = await secretariat.expect("Who should receive it?")
    await secretariat.press(menu, "All delegates")
    await menu.wait_for("recipients")
    await secretariat.press(menu, "One text for all languages")
    await menu.wait_for("Send")
    await secretariat.send("The session resumes at ten.")
    confirm = (await secretariat.expect_many(4))[-1]  # three previews, then the question
    assert "Send this notice" in confirm.text
    await secretariat.press(confirm, "Confirm")
    report = await secretariat.expect("Delivery report", timeout=15)
    assert "Zubaida" in visible(report.text)
    await server.wait_idle()

    path = bot.settings.database_path
    needles = ["Zubaida", "zubaida_k", "7345678"]
    held = set(occurrences(path, needles, zubaida.id))
    assert {
        "users.first_name",
        "users.username",
        "pseudonyms.telegram_id",
        "invitations.used_by",
        "votes.cast_by",
        "questions.opened_by",
        "questions.turnout_chat",
        "outbox.telegram_id",
        "outbox.payload",  # the delivery report
    } <= held, held
    results = await exported(env, "results", meeting)
    attendance = await exported(env, "attendance", meeting)
    notice = (await bot.db.one("SELECT max(id) FROM notices WHERE audience = 'all'"))[0]
    delivery = await notice_status(env, notice)
    assert delivery["unreachable"] == 1
    pseudonym = (
        await bot.db.one("SELECT pseudonym FROM pseudonyms WHERE telegram_id = ?", (zubaida.id,))
    )[0]

    code, out, err = await oicc(env, "forget", str(zubaida.id))
    assert code == 0 and "erased" in out, err
    assert occurrences(path, needles, zubaida.id) == []
    # the record stays whole: the chain, the member's votes, the results, the attendance
    code, out, err = await oicc(env, "audit", "verify")
    assert code == 0, err
    assert await exported(env, "results", meeting) == results
    assert await exported(env, "attendance", meeting) == attendance
    assert {"member": "CAIRO", "choice": "yes"} in results["questions"][0]["votes"]
    assert await notice_status(env, notice) == delivery  # she is still counted, as nobody
    entries = await bot.db.all("SELECT action FROM audit_log WHERE actor = ?", (pseudonym,))
    assert {"delegate_registered", "vote_cast", "vote_opened"} <= {r[0] for r in entries}
    assert await bot.db.one("SELECT 1 FROM pseudonyms WHERE pseudonym = ?", (pseudonym,)) is None
    code, _, err = await oicc(env, "forget", str(zubaida.id))
    assert code == 2 and "no person" in err
    code, _, err = await oicc(env, "forget", "@zubaida_k")
    assert code == 2 and "TELEGRAM_ID" in err
    # nor is anything left in the file's free pages once the bot has closed it
    await bot.stop()
    assert file_holds(path, [b"Zubaida", b"zubaida_k"]) == []


# --- logs and errors -------------------------------------------------------------------------


class Capture(logging.Handler):
    """Every record, as a log file would show it (message and traceback)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


async def test_the_token_never_reaches_the_logs(server, tmp_path):
    capture, late = Capture(), Capture()
    root = logging.getLogger()
    root.addHandler(capture)  # before the application exists
    noisy = ["httpx", "httpcore", "telegram", "apscheduler", "aiosqlite"]
    saved = {name: logging.getLogger(name).level for name in ["", *noisy]}
    settings = make_settings(tmp_path, server, log_level="DEBUG")
    await load_demo(settings.database_path)
    harness = Harness(server, settings)
    try:
        await harness.start()
        for name in noisy:  # everything, also what the bot itself keeps quiet
            logging.getLogger(name).setLevel(logging.DEBUG)
        root.addHandler(late)  # a handler added once the bot runs is covered too
        alice = server.user(1501, "Alice", language_code="en")
        await harness.join(alice, "CAIRO")
        await alice.send("/help")
        await alice.expect("/dues")
        await alice.send("/language")
        menu = await alice.expect()
        await alice.press(menu, "Français")
        await alice.expect("français")
        # Telegram's error text quotes the token: it must not travel into the log either.
        server.fail_next("sendMessage", error_code=400, description=f"Bad Request: {TOKEN} x")
        await alice.send("/dues")
        await alice.expect("Une erreur")
        await server.wait_idle()
    finally:
        await harness.stop()
        root.removeHandler(capture)
        root.removeHandler(late)
        for name, level in saved.items():
            logging.getLogger(name or None).setLevel(level)
    for seen in (capture, late):
        text = seen.text
        assert any(r.name.startswith("httpx") for r in seen.records)  # the URLs were logged
        assert any(r.name == "handlers.errors" and r.exc_info for r in seen.records)
        assert "<redacted>" in text
        assert TOKEN not in text and TOKEN.split(":")[1] not in text


async def test_a_rejected_token_is_not_printed(server, tmp_path):
    wrong = "123456:Wrong-Secret-Half-0123456789"  # Telegram's refusal quotes the token
    env = bot_env(make_settings(tmp_path, server, bot_token=wrong), LOG_LEVEL="DEBUG")
    for mode, extra in (("run", {}), ("webhook", {"WEBHOOK_SECRET": "s3cret"})):
        url = {"WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/hook"}
        code, _, err = await oicc({**env, **url, **extra}, mode)
        assert code == 2, err
        assert err.strip().splitlines()[-1] == (
            "oicc-bot: Telegram rejected BOT_TOKEN: check it with @BotFather"
        )
        assert wrong not in err and wrong.split(":")[1] not in err


async def test_an_error_in_a_handler(bot, server, monkeypatch):
    import handlers.account
    import handlers.fallback

    capture = Capture()
    logging.getLogger().addHandler(capture)
    try:
        khadija = server.user(1502, "Khadija", username="khadija_m", language_code="fr")
        await bot.join(khadija, "RABAT")

        async def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("storage unavailable")

        monkeypatch.setattr(handlers.fallback, "reply", broken)
        monkeypatch.setattr(handlers.account, "_set_language", broken)
        sent = await khadija.send("Mon numéro confidentiel est 5551234")
        apology = await khadija.expect("Une erreur")
        await khadija.send("/language")
        menu = await khadija.expect()
        await khadija.press(menu, "English")
        await khadija.last_answer()  # answered first, then the work failed:
        second = await khadija.expect("Une erreur")  # so the apology comes in the chat
        await server.wait_idle()
    finally:
        logging.getLogger().removeHandler(capture)
    for text in (apology.text, second.text):
        assert "Traceback" not in text and "RuntimeError" not in text and "storage" not in text
    errors = [r for r in capture.records if r.name == "handlers.errors"]
    assert len(errors) == 2 and all(r.levelno == logging.ERROR for r in errors)
    assert f"update {sent.update_id} from user {khadija.id}" in errors[0].getMessage()
    for secret in ("5551234", "confidentiel", "Khadija", "khadija_m"):
        assert secret not in capture.text


# --- the per-user slowdown -------------------------------------------------------------------


def test_slowdown_window():
    limiter = SlowDown(3)
    assert [limiter.allow(1, now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.first_refusal(1) and not limiter.first_refusal(1)
    assert limiter.allow(2, now=3)  # someone else is not slowed
    assert limiter.allow(1, now=60.5)  # the first command has left the minute
    assert limiter.first_refusal(1)  # told again next time it happens
    assert all(SlowDown(0).allow(1, now=0) for _ in range(1000))


async def test_a_user_sending_too_fast_is_slowed_alone(bot, server):
    await bot.restart(user_commands_per_minute=5)
    fast = server.user(1601, "Fast", language_code="fr")
    calm = server.user(1602, "Calm", language_code="en")
    await bot.join(fast, "CAIRO")  # /start is the first command of the minute
    await bot.join(calm, "AMMAN")
    for _ in range(4):
        await fast.send("/help")
        await fast.expect("/dues")
    await fast.send("/help")
    await fast.expect("trop rapidement")  # told once, politely, in their language
    for _ in range(3):
        await fast.send("/dues")
    await fast.expect_nothing(0.5)  # then not answered until the minute has passed
    await calm.send("/help")
    await calm.expect("/dues")
    await calm.send("/dues")
    await calm.expect("Dues of")
    # buttons count too, and are dropped unanswered...
    answered = len(server.answers(fast.id))
    await fast.press_data(None, "lang:en")
    await fast.expect_nothing(0.5)
    assert len(server.answers(fast.id)) == answered
    # ...except the presses of a ballot, counted apart (a council ballot takes many)
    await fast.press_data(None, "v:1:y")
    assert (await fast.last_answer()).show_alert  # answered: no such vote is open
