"""Webhook mode on the web layer: the secret is checked first, bodies are capped at 1 MiB."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.store import Database, people
from bot.web.webhook import MAX_BODY, SECRET_HEADER
from tests.e2e.conftest import load_demo, make_settings
from tests.e2e.test_operations import bot_env, free_port, message_update, post

SECRET = "Webhook_s3cret-42"


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


@pytest.fixture
async def webhook(server, tmp_path):
    """``oicc-bot webhook`` in its own process, registered with the local Bot API server."""
    settings = make_settings(tmp_path, server)
    await load_demo(settings.database_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    env = bot_env(settings, WEBHOOK_URL=url, WEBHOOK_SECRET=SECRET, PORT=str(port))
    log = tmp_path / "webhook.log"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "webhook", env=env, stderr=log.open("wb")
    )
    deadline = time.monotonic() + 30
    while server.webhook is None:
        assert process.returncode is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        await asyncio.sleep(0.05)
    try:
        yield process, url, settings
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 15)


async def zeros(mib: int) -> AsyncIterator[bytes]:
    chunk = bytes(1024 * 1024)
    for _ in range(mib):
        yield chunk


async def send_body(
    url: str, mib: int, headers: dict[str, str], chunked: bool = False
) -> int | None:
    """POST ``mib`` MiB; the status, or None when the bot closed the connection first."""
    body = zeros(mib)
    if not chunked:
        headers = {**headers, "Content-Length": str(mib * 1024 * 1024)}
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=body, headers=headers) as response:
                return response.status
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError, ConnectionError):
        return None


async def test_large_bodies_without_the_secret_are_refused_unread(webhook, server):
    process, url, _ = webhook
    # A first small request warms the bot up, so what follows measures only the bodies.
    assert await post(url, {"update_id": 1}, "wrong") == 403
    before = memory_kib(process.pid, "VmRSS")
    statuses = await asyncio.gather(*(send_body(url, 95, {}) for _ in range(4)))
    after = memory_kib(process.pid, "VmHWM")
    assert all(status in (403, None) for status in statuses), statuses
    # 380 MiB were offered; the bot held none of it (its peak stayed within 16 MiB).
    assert after - before < 16 * 1024, (before, after)
    assert process.returncode is None
    # The bot still works for Telegram afterwards.
    hana = server.user(4001, "Hana", language_code="en", started=True)
    assert await post(url, message_update(10_001, hana, "/help"), SECRET) == 200
    await hana.expect("not registered", timeout=15)


async def test_the_secret_is_checked_before_the_size(webhook):
    _, url, _ = webhook
    # Over the cap and without the secret: the answer is about the secret.
    assert await send_body(url, 2, {SECRET_HEADER: "nope"}) in (403, None)
    # With the secret: too large, declared or chunked.
    assert await send_body(url, 2, {SECRET_HEADER: SECRET}) in (413, None)
    assert await send_body(url, 2, {SECRET_HEADER: SECRET}, chunked=True) in (413, None)


async def test_bodies_up_to_the_cap_are_read_and_bad_ones_refused(webhook, server):
    _, url, settings = webhook
    db = await Database(settings.database_path).open()
    try:
        issued = await people.issue_invitation(db, "oicc_test_bot", "AMMAN", "delegate", actor="t")
    finally:
        await db.close()
    hana = server.user(4002, "Hana", language_code="en", started=True)
    update = message_update(10_002, hana, f"/start {issued.code}")
    raw = json.dumps(update)
    padded = raw[:-1] + ', "padding": "' + "x" * (MAX_BODY - len(raw) - 20) + '"}'
    assert len(padded) <= MAX_BODY
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=b"{not json", headers=headers) as response:
            assert response.status == 400
        async with session.post(url, data=padded.encode(), headers=headers) as response:
            assert response.status == 200
    await hana.expect(["Welcome", "Amman"], timeout=15)
