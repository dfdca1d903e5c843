"""``oicc-bot rehearse`` without a browser: its safety, its copy of a database, its feed."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.store import Database, registry
from tests.e2e.conftest import load_demo
from tests.rehearsing import Rehearsal, Sentinel


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def sentinel():
    running = Sentinel().start()
    yield running
    running.stop()


async def rehearse(*args: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "rehearse",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, err.decode()


async def test_the_live_database_is_refused(tmp_path):
    import os

    live = tmp_path / "oicc.sqlite3"
    await load_demo(str(live))
    before = digest(live)
    env = {**os.environ, "DATABASE_PATH": str(live)}
    code, err = await rehearse("--port", "0", "--database", str(live), env=env)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "live database" in err
    # The same file through another path is the same file.
    link = tmp_path / "other-name.sqlite3"
    link.symlink_to(live)
    code, err = await rehearse("--port", "0", "--database", str(link), env=env)
    assert code == 2 and "live database" in err
    code, err = await rehearse("--port", "0", "--database", str(tmp_path / "none"), env=env)
    assert code == 2 and "is not a file" in err
    assert digest(live) == before


class Feed:
    """The page's event stream, read as the page reads it."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self, wanted: str, test: Any = lambda data: True) -> Any:
        """The next event of kind ``wanted`` that passes ``test``. A message may also come
        inside a whole new state (the page redraws from it), so those are looked into."""
        event = ""
        async with asyncio.timeout(30):
            while True:
                line = (await self.response.content.readline()).decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[len("event: ") :]
                elif line.startswith("data: "):
                    data = json.loads(line[len("data: ") :])
                    if event == wanted and test(data):
                        return data
                    if event == "state" and wanted == "message":
                        for phone in data["phones"]:
                            for message in phone["messages"]:
                                found = {"phone": phone["user_id"], "message": message}
                                if test(found):
                                    return found


async def test_a_copy_of_a_database_the_feed_and_no_telegram(tmp_path, sentinel):
    source = tmp_path / "backup.sqlite3"
    await load_demo(str(source))
    db = await Database(str(source)).open()
    try:
        await registry.record_payment(db, "TUNIS", 2000, "organization", 1, actor="test")
    finally:
        await db.close()
    before = digest(source)
    running = Rehearsal(tmp_path, sentinel, "--database", str(source))
    try:
        assert running.url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as session:
            async with session.get(running.url + "events") as response:
                feed = Feed(response)
                state = await feed.next("state")
                # The copy has no open meeting: the phones are there, with their welcome.
                cairo = next(p for p in state["phones"] if p["member"] == "CAIRO")
                assert cairo["language"] == "ar" and cairo["messages"]
                assert any(c[0] == "checkin" for c in cairo["menu"])
                async with session.post(
                    running.url + "api/send", json={"phone": cairo["user_id"], "text": "/dues"}
                ) as sent:
                    assert sent.status == 200
                mine = await feed.next("message", lambda d: d["message"]["text"] == "/dues")
                assert mine["message"]["out"] and mine["phone"] == cairo["user_id"]
                answer = await feed.next(
                    "message", lambda d: d["message"]["id"] == mine["message"]["id"] + 1
                )
                assert answer["phone"] == cairo["user_id"] and not answer["message"]["out"]
                assert "القاهرة" in answer["message"]["text"]
                # Bad input is refused with a reason, and changes nothing.
                for body in (
                    {"phone": 1, "text": "/help"},
                    {"phone": cairo["user_id"], "text": ""},
                    {"phone": cairo["user_id"], "message": 1, "data": "forged"},
                ):
                    kind = "press" if "data" in body else "send"
                    async with session.post(running.url + f"api/{kind}", json=body) as refused:
                        assert refused.status == 400
                        assert (await refused.json())["error"]
                async with session.post(
                    running.url + "api/send", data="phone=1003&text=hi"
                ) as form:
                    assert form.status == 400  # a form from another site is not JSON
                async with session.post(
                    running.url + "api/delegate", json={"member": "NOWHERE", "language": "fr"}
                ) as refused:
                    assert refused.status == 400
    finally:
        running.stop()
    assert sentinel.requests == []
    assert digest(source) == before  # the rehearsal worked on a copy
    with sqlite3.connect(source) as check:
        assert check.execute("SELECT count(*) FROM users").fetchone()[0] == 0
