"""Webhook mode: Telegram POSTs each update to the path of ``WEBHOOK_URL``.

The route checks Telegram's secret header before anything else and refuses, without reading
it, any body over 1 MiB (an update is a few kilobytes); a refused request's connection is
closed, so nobody can make the bot read or hold a large body. Accepted updates go into the
Application's update queue, as PTB documents for custom webhook servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.config import Settings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024
APPLICATION: web.AppKey[Application[Any, Any, Any, Any, Any, Any]] = web.AppKey("application")


def _refuse(status: int) -> web.Response:
    response = web.Response(status=status)
    response.force_close()  # the rest of the body is never read
    return response


async def _read_capped(request: web.Request) -> bytes | None:
    """The body, or None when it is (or turns out to be, when chunked) over MAX_BODY."""
    length = request.content_length
    if length is not None and length > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)


def webhook_handler(application: Application[Any, Any, Any, Any, Any, Any], secret: str) -> Any:
    expected = secret.encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not expected or not hmac.compare_digest(given, expected):
            return _refuse(403)
        body = await _read_capped(request)
        if body is None:
            return _refuse(413)
        try:
            data = json.loads(body)
            update = Update.de_json(data, application.bot)
        except (ValueError, TypeError, KeyError):
            return _refuse(400)
        if update is None:
            return _refuse(400)
        await application.update_queue.put(update)
        return web.Response(status=200)

    return receive


def add_webhook_route(
    web_app: web.Application,
    application: Application[Any, Any, Any, Any, Any, Any],
    path: str,
    secret: str,
) -> None:
    web_app.router.add_post(path, webhook_handler(application, secret))


async def serve_webhook(settings: Settings, allowed_updates: list[str], host: str) -> None:
    """Listen on ``host``:PORT, register WEBHOOK_URL with Telegram, run until SIGINT/SIGTERM."""
    from bot.app import build_application

    application = build_application(settings)
    web_app = web.Application(client_max_size=MAX_BODY)
    path = "/" + urlparse(settings.webhook_url).path.lstrip("/")
    add_webhook_route(web_app, application, path, settings.webhook_secret)
    runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=2.0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await application.initialize()  # getMe: a rejected token stops here
    try:
        await application.post_init(application)  # type: ignore[misc]
        await application.start()
        await runner.setup()
        await web.TCPSite(runner, host, settings.port).start()
        await application.bot.set_webhook(
            url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=allowed_updates,
        )
        log.info("webhook listening on port %s", settings.port)
        await stop.wait()
    finally:
        await runner.cleanup()
        if application.running:
            await application.stop()
        with contextlib.suppress(Exception):
            await application.post_shutdown(application)  # type: ignore[misc]
        await application.shutdown()
