"""``oicc-bot rehearse`` in its own process, and a stand-in for Telegram that it must not call."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from aiohttp import web


class Sentinel:
    """A stand-in for Telegram on 127.0.0.1 that counts every request it gets: the
    rehearsal is pointed at it through TELEGRAM_API_URL and must never call it."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def count(request: web.Request) -> web.Response:
            self.requests.append(f"{request.method} {request.path}")
            return web.json_response({"ok": False, "error_code": 401, "description": "no"})

        async def start() -> None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", count)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.url = f"http://127.0.0.1:{runner.addresses[0][1]}/bot"
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def start(self) -> Sentinel:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)


class Rehearsal:
    """``oicc-bot rehearse --port 0`` with a hostile environment: a token, an API URL and
    a live database that it must all leave alone."""

    def __init__(self, workdir: Path, sentinel: Sentinel, *args: str) -> None:
        self.log = workdir / "rehearse.log"
        env = {
            **os.environ,
            "BOT_TOKEN": "123456:LIVE-TOKEN-must-not-be-used",
            "TELEGRAM_API_URL": sentinel.url,
            "DATABASE_PATH": str(workdir / "live.sqlite3"),
            "PYTHONUNBUFFERED": "1",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "rehearse", "--port", "0", *args],
            env=env,
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=self.log.open("wb"),
            text=True,
        )
        self.url = self._wait_url()

    def _wait_url(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # the first line, once the page is usable
        found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert found, f"no URL in {line!r}: {self.log.read_text()[-3000:]}"
        return found.group(1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
