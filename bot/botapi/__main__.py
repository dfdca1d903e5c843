"""Run the fake Bot API server on its own: ``python -m bot.botapi --port 0 --token 1:ABC``.

Prints ``READY http://127.0.0.1:PORT`` once listening, then serves until SIGINT or SIGTERM.
Users and their messages are driven through the JSON control API under ``/_control/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from .server import BotAPIServer, FloodLimits


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.botapi", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost", "::1"])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default="123456:TEST-TOKEN")
    parser.add_argument("--bot-username", default="test_bot")
    parser.add_argument("--bot-name", default="Test Bot")
    parser.add_argument("--flood", action="store_true", help="enable Telegram-like flood control")
    parser.add_argument("--flood-per-second", type=int, default=30)
    parser.add_argument("--flood-chat-burst", type=float, default=3.0)
    parser.add_argument("--flood-chat-rate", type=float, default=1.0)
    parser.add_argument("--callback-timeout", type=float, default=15.0)
    parser.add_argument(
        "--rtt", type=float, default=0.0, metavar="MS", help="round trip added to every request"
    )
    parser.add_argument(
        "--lenient-html",
        action="store_true",
        help="keep a bare '&' as text, as tdlib does, instead of rejecting it",
    )
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    server = BotAPIServer(
        args.token,
        flood=args.flood,
        limits=FloodLimits(args.flood_per_second, args.flood_chat_burst, args.flood_chat_rate),
        bot_name=args.bot_name,
        bot_username=args.bot_username,
        callback_timeout=args.callback_timeout,
        strict_html=not args.lenient_html,
        host=args.host,
        port=args.port,
        rtt=args.rtt / 1000,
    )
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    # The parent process waits for this line before it starts the bot.
    print(f"READY {server.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
