"""Starting the bot and the command line as a newcomer meets them, each in its own process:
a failure is one line on stderr and exit code 2, writes nothing and never hangs."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import sys
from pathlib import Path

from tests.e2e.conftest import SECRETARIAT_ID, TOKEN, Harness, load_demo, make_settings
from tests.e2e.test_operations import free_port

# A process that has not finished by then hangs (a failing start-up must not).
PATIENCE = 60
ROOT = str(Path(__file__).resolve().parents[2])


async def oicc_in(folder: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """``oicc-bot ARGS`` run in ``folder`` with an operator's environment plus ``env``
    (settings of the surrounding shell are not inherited)."""
    base = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=folder,
        env={**base, "PYTHONPATH": ROOT, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), PATIENCE)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"oicc-bot {' '.join(args)} did not finish: it hangs") from None
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


SETTINGS = {
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "DATABASE_PATH",
    "SECRETARIAT_IDS",
    "BOT_USERNAME",
    "LOG_LEVEL",
    "TIMEZONE",
}


def one_line_refusal(code: int, err: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("oicc-bot"), err
    return lines[0]


# --- start-up ---------------------------------------------------------------------------------


async def test_run_demo_without_a_token_writes_nothing(tmp_path):
    code, _, err = await oicc_in(tmp_path, "run", "--demo")
    assert "BOT_TOKEN" in one_line_refusal(code, err)
    assert list(tmp_path.iterdir()) == []


async def test_an_unreachable_telegram_is_one_line(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/bot"  # nothing listens there
    code, _, err = await oicc_in(tmp_path, "run", "--demo", BOT_TOKEN=TOKEN, TELEGRAM_API_URL=url)
    line = one_line_refusal(code, err)
    assert url in line and "getMe" in line and "TELEGRAM_API_URL" in line
    assert TOKEN.split(":")[1] not in err
    assert list(tmp_path.iterdir()) == []


async def test_a_start_up_call_refused_names_its_method(server, tmp_path):
    server.fail_next("deleteWebhook", error_code=400, description="Bad Request: not today")
    code, _, err = await oicc_in(tmp_path, "run", BOT_TOKEN=TOKEN, TELEGRAM_API_URL=server.base_url)
    line = one_line_refusal(code, err)
    assert "deleteWebhook" in line and "Not today" in line


async def test_a_bad_database_path_is_one_line(tmp_path):
    (tmp_path / "folder").mkdir()
    for path, words in (
        (tmp_path / "missing" / "oicc.sqlite3", "does not exist"),
        (tmp_path / "folder", "is a folder"),
    ):
        for args in (("run",), ("members", "list")):
            code, _, err = await oicc_in(tmp_path, *args, BOT_TOKEN=TOKEN, DATABASE_PATH=str(path))
            line = one_line_refusal(code, err)
            assert "DATABASE_PATH" in line and words in line
    assert not (tmp_path / "missing").exists() and list((tmp_path / "folder").iterdir()) == []


async def test_a_database_that_cannot_be_opened_or_upgraded_is_one_line(tmp_path):
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database, " * 100)
    # A database whose first schema version cannot apply: its table exists already.
    clash = tmp_path / "clash.sqlite3"
    with sqlite3.connect(clash) as conn:
        conn.execute("CREATE TABLE members (something TEXT)")
    for path, words in ((garbage, "not a database"), (clash, "schema version 1")):
        for args in (("run",), ("members", "list"), ("demo",)):
            code, _, err = await oicc_in(tmp_path, *args, BOT_TOKEN=TOKEN, DATABASE_PATH=str(path))
            line = one_line_refusal(code, err)
            assert str(path) in line and words in line, line


async def test_the_bot_runs_when_the_menu_cannot_be_published(server, tmp_path, caplog):
    settings = make_settings(tmp_path, server)
    await load_demo(settings.database_path)
    server.fail_next("setMyCommands", count=10, error_code=500)
    caplog.set_level(logging.WARNING)
    harness = await Harness(server, settings).start()
    try:
        user = server.user(SECRETARIAT_ID, "Sara", language_code="en")
        await user.send("/help")
        await user.expect("What you can do")
    finally:
        await harness.stop()
    assert any("command menu" in r.getMessage() for r in caplog.records)


# --- the command line -------------------------------------------------------------------------


async def test_demo_says_what_to_do_next_and_loads_once(tmp_path):
    code, out, err = await oicc_in(tmp_path, "demo")
    assert code == 0, err
    assert "CAIRO" in out and "Cairo" in out and "Makkah Al-Mukarramah" in out
    assert "meeting 1" in out and "oicc-bot invite" in out
    with sqlite3.connect(tmp_path / "oicc.sqlite3") as conn:
        entries = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    code, again, err = await oicc_in(tmp_path, "demo")
    assert code == 0, err
    assert "already loaded" in again and "meeting 1" in again
    with sqlite3.connect(tmp_path / "oicc.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] == entries
        assert conn.execute("SELECT count(*) FROM meetings").fetchone()[0] == 1


async def test_members_and_meetings_can_be_listed(tmp_path):
    assert (await oicc_in(tmp_path, "demo"))[0] == 0
    code, out, err = await oicc_in(tmp_path, "members", "list")
    assert code == 0, err
    assert any(line.startswith("CAIRO") and "Cairo" in line for line in out.splitlines())
    assert "LAHORE" in out and "inactive" in out
    code, out, _ = await oicc_in(tmp_path, "members", "list", "--json")
    members = {m["code"]: m for m in json.loads(out)}
    assert len(members) == 17
    assert members["QUDS"] == {
        "code": "QUDS",
        "name_en": "Al-Quds Al-Sharief",
        "name_fr": "Al-Qods Al-Charif",
        "name_ar": "القدس الشريف",
        "country": "Palestine",
        "region": "arab",
        "kind": "capital",
        "council": "permanent",
        "active": True,
    }
    code, out, _ = await oicc_in(tmp_path, "meeting", "list", "--json")
    (meeting,) = json.loads(out)
    assert meeting["id"] == 1 and meeting["body"] == "gc" and meeting["kind"] == "ordinary"
    assert meeting["title"] == "General Conference (demo)" and meeting["state"] == "current"
    assert "+" in meeting["starts_at"] or meeting["starts_at"].endswith("Z")
    code, out, _ = await oicc_in(tmp_path, "meeting", "list")
    assert out.startswith("1 ") and "General Conference (demo)" in out and "current" in out
    assert (await oicc_in(tmp_path, "meeting", "close", "1"))[0] == 0
    code, out, _ = await oicc_in(tmp_path, "meeting", "list", "--json")
    assert json.loads(out)[0]["state"] == "closed"


async def test_a_group_without_its_action_lists_the_actions(tmp_path):
    code, _, err = await oicc_in(tmp_path, "members")
    line = one_line_refusal(code, err)
    assert "import" in line and "list" in line
    code, _, err = await oicc_in(tmp_path, "meeting")
    line = one_line_refusal(code, err)
    assert all(word in line for word in ("create", "agenda", "list", "close"))


async def test_dues_status_shows_the_reasons(tmp_path):
    assert (await oicc_in(tmp_path, "demo"))[0] == 0
    code, out, err = await oicc_in(tmp_path, "dues", "status", "TUNIS")
    assert code == 0, err
    assert "good standing no" in out
    assert "organization dues for" in out and "not fully paid" in out
    code, out, _ = await oicc_in(tmp_path, "dues", "status", "MAKKAH")
    assert "permanent" in out and "council eligibility" in out
