"""The composition root: build_application(settings) wires storage, handlers and jobs."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, cast

from telegram.error import BadRequest, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes
from telegram.request import HTTPXRequest, RequestData

from bot.config import Settings
from bot.logs import setup_logging
from bot.store import Database


@dataclass
class Services:
    """What handlers need, created in post_init and closed in post_shutdown."""

    settings: Settings
    db: Database
    extras: dict[str, Any] = field(default_factory=dict)


API_METHOD_NOTE = "Bot API method: "


class BotApiRequest(HTTPXRequest):
    """PTB's HTTP client, with three additions.

    Every failure names the Bot API method that failed, so that a failure to start can say
    which call it was (see ``failed_method``). A button press Telegram no longer lets us
    answer (older than its answer window, e.g. pressed while the bot was down) is not an
    error: the answer returns False and the handler carries on with what it can still do.
    And it remembers the presses recently answered, since Telegram refuses a second answer
    (see ``answered``).
    """

    REMEMBERED = 2000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._answered: OrderedDict[str, None] = OrderedDict()

    def answered(self, query_id: str) -> bool:
        """Whether this press was answered already (or can no longer be)."""
        return query_id in self._answered

    def _remember(self, query_id: object) -> None:
        self._answered[str(query_id)] = None
        while len(self._answered) > self.REMEMBERED:
            self._answered.popitem(last=False)

    # PTB marks post() final for type checkers; this wrapper only looks at what it returns.
    async def post(self, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
        method = url.rsplit("/", 1)[-1]
        data = args[0] if args else kwargs.get("request_data")
        query_id = (
            data.parameters.get("callback_query_id")
            if method == "answerCallbackQuery" and isinstance(data, RequestData)
            else None
        )
        try:
            result = await super().post(url, *args, **kwargs)
        except BadRequest as exc:
            if query_id is not None and "query is too old" in str(exc).lower():
                logging.getLogger(__name__).info("a button press came too late to be answered")
                self._remember(query_id)
                return False
            exc.add_note(API_METHOD_NOTE + method)
            raise
        except TelegramError as exc:
            exc.add_note(API_METHOD_NOTE + method)
            raise
        if query_id is not None:
            self._remember(query_id)
        return result


def failed_method(exc: BaseException) -> str | None:
    """The Bot API method a failure came from, when BotApiRequest saw it."""
    for note in getattr(exc, "__notes__", ()):
        if note.startswith(API_METHOD_NOTE):
            return str(note[len(API_METHOD_NOTE) :])
    return None


def services(
    context: ContextTypes.DEFAULT_TYPE | Application[Any, Any, Any, Any, Any, Any],
) -> Services:
    data = context.bot_data
    return cast(Services, data["services"])


def build_application(settings: Settings) -> Application[Any, Any, Any, Any, Any, Any]:
    """The bot's Application. The database opens in post_init and closes in post_shutdown."""
    setup_logging(settings)
    token = settings.require_token()

    async def post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        db = await Database(settings.database_path).open()
        application.bot_data["services"] = Services(settings=settings, db=db)
        from bot.delivery import Sender

        # The outbox's delivery loop, for the life of the application (see bot/delivery.py).
        sender = Sender.for_settings(settings, db)
        application.bot_data["services"].extras["sender"] = sender
        await sender.start()
        from handlers import on_startup

        await on_startup(application)

    async def post_shutdown(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        found = application.bot_data.get("services")
        if isinstance(found, Services):
            sender = found.extras.get("sender")
            if sender is not None:
                await sender.stop()  # lets the message in flight finish first
            await found.db.close()

    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_file_url)
        .request(BotApiRequest(connection_pool_size=256))
        .get_updates_request(BotApiRequest(connection_pool_size=1))
        .rate_limiter(AIORateLimiter(max_retries=5))
        .concurrent_updates(True)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    from handlers import register

    register(application)
    logging.getLogger(__name__).debug("application built")
    return application
