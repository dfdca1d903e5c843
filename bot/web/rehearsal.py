"""The rehearsal page: phones side by side, each a chat with the real bot, live.

The page gets everything through one server-sent event stream: the whole state when it
connects (or reconnects), then each message, edit, deletion, button answer and menu change as
the local Bot API server records it. What people do (type, press a button, switch language,
add a delegate, start over) is a JSON POST.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import signal
import sys
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.botapi.server import BotAPIServer, SentMessage
from bot.config import Settings
from bot.i18n import LANGUAGES
from bot.rehearsal import Phone, Rehearsal, RehearsalError

log = logging.getLogger(__name__)

STATIC = {
    "rehearsal.css": "text/css",
    "rehearsal.js": "text/javascript",
}
REHEARSAL: web.AppKey[Rehearsal] = web.AppKey("rehearsal")
FEED: web.AppKey[ChatFeed] = web.AppKey("feed")


def message_json(message: SentMessage) -> dict[str, Any]:
    """A message as the page draws it: visible text with its entities (UTF-16 offsets, as
    JavaScript strings count), buttons, the file, whether it was edited."""
    buttons = [
        [
            {
                "text": button.get("text", ""),
                **({"data": button["callback_data"]} if "callback_data" in button else {}),
                **({"url": button["url"]} if "url" in button else {}),
            }
            for button in row
        ]
        for row in message.inline_keyboard
    ]
    data: dict[str, Any] = {
        "id": message.message_id,
        "out": not message.from_bot,
        "kind": message.kind,
        "text": message.text,
        "entities": message.entities,
        "buttons": buttons,
        "edited": message.edited,
        "at": message.stored_at,
    }
    if message.file is not None:
        data["file"] = f"/files/{message.file.file_id}"
        data["file_name"] = message.file.file_name
    return data


class ChatFeed:
    """Follows the local server's chats and pushes what changed to every connected page."""

    def __init__(self, rehearsal: Rehearsal) -> None:
        self.rehearsal = rehearsal
        self.clients: set[asyncio.Queue[tuple[str, Any]]] = set()
        self._generation = -1
        self._seen: dict[tuple[int, int], tuple[int, bool]] = {}
        self._answers: dict[int, int] = {}
        self._menus: dict[int, list[tuple[str, str]]] = {}
        self._phones: tuple[Phone, ...] = ()
        self._ready = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def subscribe(self) -> asyncio.Queue[tuple[str, Any]]:
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        queue.put_nowait(("state", self.state()))
        self.clients.add(queue)
        return queue

    def state(self) -> dict[str, Any]:
        server = self.rehearsal.server
        phones = []
        for phone in self.rehearsal.phones:
            messages = []
            menu: list[tuple[str, str]] = []
            if server is not None:
                messages = [
                    message_json(m) for m in server.chat_messages(phone.user_id) if not m.deleted
                ]
                menu = self._menu(server, phone)
            phones.append({**phone.as_json(), "messages": messages, "menu": menu})
        return {
            "ready": self.rehearsal.ready,
            "phones": phones,
            "members": self.rehearsal.members(),
            "languages": list(LANGUAGES),
        }

    def _menu(self, server: BotAPIServer, phone: Phone) -> list[tuple[str, str]]:
        return server.visible_commands(phone.user_id, server.user(phone.user_id).language_code)

    def _push(self, event: str, data: Any) -> None:
        for queue in self.clients:
            queue.put_nowait((event, data))

    async def _follow(self) -> None:
        while True:
            server = self.rehearsal.server
            if server is None:
                await asyncio.sleep(0.02)
                continue
            if self._generation != self.rehearsal.generation:
                self._generation = self.rehearsal.generation
                self._seen.clear()
                self._answers.clear()
                self._menus.clear()
                self._phones = ()
            try:
                self._scan(server)
            except Exception:  # a page that misses one change is better than a dead feed
                log.exception("rehearsal feed")
            # Nothing is awaited between the scan and this wait: no change can slip between.
            # While the rehearsal starts, look again soon: becoming ready is no server change.
            await server.wait_change(1.0 if self._ready else 0.05)

    def _scan(self, server: BotAPIServer) -> None:
        phones = tuple(self.rehearsal.phones)
        if phones != self._phones or self.rehearsal.ready != self._ready:
            fresh = self._phones == ()
            self._phones = phones
            self._ready = self.rehearsal.ready
            self._push("state", self.state())
            self._remember(server, phones)
            if fresh:
                return
        for phone in phones:
            self._scan_phone(server, phone)

    def _remember(self, server: BotAPIServer, phones: Iterable[Phone]) -> None:
        for phone in phones:
            for m in server.chat_messages(phone.user_id):
                self._seen[(phone.user_id, m.message_id)] = (len(m.versions), m.deleted)
            self._answers[phone.user_id] = len(server.user(phone.user_id).answers)
            self._menus[phone.user_id] = self._menu(server, phone)

    def _scan_phone(self, server: BotAPIServer, phone: Phone) -> None:
        user_id = phone.user_id
        for m in server.chat_messages(user_id):
            key = (user_id, m.message_id)
            now = (len(m.versions), m.deleted)
            before = self._seen.get(key)
            if before == now:
                continue
            self._seen[key] = now
            if m.deleted:
                if before is not None and not before[1]:
                    self._push("delete", {"phone": user_id, "id": m.message_id})
            else:
                self._push("message", {"phone": user_id, "message": message_json(m)})
        answers = server.user(user_id).answers
        for answer in answers[self._answers.get(user_id, 0) :]:
            if answer.text:
                self._push(
                    "answer", {"phone": user_id, "text": answer.text, "alert": answer.show_alert}
                )
        self._answers[user_id] = len(answers)
        menu = self._menu(server, phone)
        if menu != self._menus.get(user_id):
            self._menus[user_id] = menu
            self._push("menu", {"phone": user_id, "menu": menu})


# --- HTTP ------------------------------------------------------------------------------------


def _asset(name: str) -> bytes:
    return resources.files("bot.web").joinpath("static", name).read_bytes()


async def page(request: web.Request) -> web.Response:
    return web.Response(
        body=_asset("rehearsal.html"),
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC:
        raise web.HTTPNotFound()
    return web.Response(body=_asset(name), content_type=STATIC[name], charset="utf-8")


async def events(request: web.Request) -> web.StreamResponse:
    feed = request.app[FEED]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    queue = feed.subscribe()
    try:
        while True:
            try:
                event, data = await asyncio.wait_for(queue.get(), 15.0)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            await response.write(f"event: {event}\ndata: {payload}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        feed.clients.discard(queue)
    return response


async def file(request: web.Request) -> web.Response:
    server = request.app[REHEARSAL].server
    stored = server.file(request.match_info["file_id"]) if server is not None else None
    if stored is None or stored.data is None:
        raise web.HTTPNotFound()
    if stored.mime_type:
        kind = stored.mime_type
    elif stored.data.startswith(b"\x89PNG"):
        kind = "image/png"
    elif stored.data.startswith(b"\xff\xd8"):
        kind = "image/jpeg"
    else:
        kind = "application/octet-stream"
    headers = {"Cache-Control": "private, max-age=3600"}
    if stored.file_name:
        headers["Content-Disposition"] = f'inline; filename="{stored.file_name}"'
    return web.Response(body=stored.data, content_type=kind, headers=headers)


async def _body(request: web.Request) -> dict[str, Any]:
    # JSON only: a form posted by another site cannot reach these without a CORS preflight.
    if request.content_type != "application/json":
        raise RehearsalError("send JSON")
    try:
        data = await request.json()
    except ValueError:
        raise RehearsalError("send JSON") from None
    if not isinstance(data, dict):
        raise RehearsalError("send a JSON object")
    return data


def _int(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise RehearsalError(f"{name} must be a number")
    return value


def _str(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise RehearsalError(f"{name} must be text")
    return value


def action(kind: str) -> Any:
    async def handle(request: web.Request) -> web.Response:
        rehearsal = request.app[REHEARSAL]
        try:
            data = await _body(request)
            if rehearsal.server is None or rehearsal.application is None:
                raise RehearsalError("the rehearsal is starting; try again in a moment")
            result: Any = True
            if kind == "send":
                await rehearsal.send(_int(data, "phone"), _str(data, "text"))
            elif kind == "press":
                await rehearsal.press(
                    _int(data, "phone"), _int(data, "message"), _str(data, "data")
                )
            elif kind == "language":
                await rehearsal.set_language(_int(data, "phone"), _str(data, "language"))
            elif kind == "delegate":
                phone = await rehearsal.add_delegate(_str(data, "member"), _str(data, "language"))
                result = phone.as_json()
            elif kind == "reset":
                await rehearsal.reset()
        except RehearsalError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True, "result": result})

    return handle


def rehearsal_app(rehearsal: Rehearsal) -> web.Application:
    app = web.Application(client_max_size=64 * 1024)
    app[REHEARSAL] = rehearsal
    app[FEED] = ChatFeed(rehearsal)
    app.router.add_get("/", page)
    app.router.add_get("/static/{name}", asset)
    app.router.add_get("/events", events)
    app.router.add_get("/files/{file_id}", file)
    for kind in ("send", "press", "language", "delegate", "reset"):
        app.router.add_post(f"/api/{kind}", action(kind))

    async def lifespan(app: web.Application) -> Any:
        app[FEED].start()
        yield
        await app[FEED].stop()

    app.cleanup_ctx.append(lifespan)
    return app


def _load_bot_modules() -> None:
    for name in ("telegram.ext", "bot.app", "handlers"):
        importlib.import_module(name)


async def run_rehearsal(settings: Settings, host: str, port: int, source: Path | None) -> int:
    """Serve the page at once, start the bot and its phones, run until SIGINT or SIGTERM."""
    rehearsal = Rehearsal(settings, source=source)
    runner = web.AppRunner(rehearsal_app(rehearsal), access_log=None, shutdown_timeout=1.0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        bound = runner.addresses[0]
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        url = f"http://{shown}:{bound[1]}/"
        # The page is served from now on; the bot's heavier modules load meanwhile.
        await asyncio.to_thread(_load_bot_modules)
        await rehearsal.start()
        print(f"Rehearsal ready: open {url}", flush=True)
        print("Nothing is sent to Telegram. Stop with Ctrl+C.", file=sys.stderr, flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()
        await rehearsal.close()
    return 0
