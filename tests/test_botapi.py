"""Tests of the fake Bot API server: it must be as strict as Telegram, or e2e tests lie."""

from __future__ import annotations

import asyncio
import json
import struct
import sys
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.botapi import (
    BotAPIServer,
    ControlClient,
    FakeUser,
    FloodLimits,
    parse_html,
    parse_markdown_v2,
    utf16_len,
)

TOKEN = "123456:TEST-TOKEN-abcdefghijklmnop"
ROOT = Path(__file__).resolve().parent.parent


def png(width: int, height: int) -> bytes:
    """A real (tiny, valid) PNG so the server's image check has something to read."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def message_of(update: Update) -> Message:
    assert update.message is not None, update
    return update.message


def query_of(update: Update) -> CallbackQuery:
    assert update.callback_query is not None, update
    return update.callback_query


@pytest.fixture
async def server() -> AsyncIterator[BotAPIServer]:
    async with BotAPIServer(TOKEN) as running:
        yield running


@pytest.fixture
async def bot(server: BotAPIServer) -> AsyncIterator[Bot]:
    async with server.bot() as instance:
        yield instance


async def call(
    server: BotAPIServer, method: str, *, token: str = TOKEN, form: bool = False, **params: Any
) -> tuple[int, dict[str, Any]]:
    """A raw Bot API request (JSON body, or form-encoded like PTB does)."""
    url = f"{server.url}/bot{token}/{method}"
    async with aiohttp.ClientSession() as session:
        if form:
            data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
            async with session.post(url, data=data) as response:
                return response.status, await response.json()
        async with session.post(url, json=params) as response:
            return response.status, await response.json()


def started(server: BotAPIServer, user_id: int = 1001, **fields: Any) -> FakeUser:
    """A user who has already written to the bot (so the bot may message them)."""
    return server.user(user_id, fields.pop("first_name", "Alice"), started=True, **fields)


# --------------------------------------------------------------------------------------------
# Protocol basics


async def test_get_me_token_and_unknown_method(server: BotAPIServer, bot: Bot) -> None:
    assert bot.username == "test_bot"
    me = await bot.get_me()
    assert me.id == 123456 and me.is_bot and me.can_join_groups is True

    status, body = await call(server, "getMe", token="123456:WRONG-token-xxxxxxxxxxxxxx")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    status, body = await call(server, "noSuchMethod")
    assert (status, body["description"]) == (404, "Not Found")
    status, body = await call(server, "GETME")  # method names are case-insensitive
    assert status == 200 and body["result"]["username"] == "test_bot"

    with pytest.raises(InvalidToken):
        async with Bot("123456:WRONG-token-xxxxxxxxxxxxxx", base_url=f"{server.url}/bot"):
            pass


async def test_json_and_form_parameters_are_equivalent(server: BotAPIServer) -> None:
    started(server)
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    status, as_json = await call(
        server, "sendMessage", chat_id=1001, text="<b>a</b>", parse_mode="HTML", reply_markup=markup
    )
    assert status == 200
    status, as_form = await call(
        server,
        "sendMessage",
        form=True,
        chat_id=1001,
        text="<b>a</b>",
        parse_mode="HTML",
        reply_markup=markup,
    )
    assert status == 200
    # A JSON body may also carry reply_markup as a JSON-encoded string.
    status, as_string = await call(
        server, "sendMessage", chat_id="1001", text="<b>a</b>", parse_mode="HTML",
        reply_markup=json.dumps(markup),
    )  # fmt: skip
    assert status == 200
    for body in (as_json, as_form, as_string):
        assert body["result"]["text"] == "a"
        assert body["result"]["entities"] == [{"offset": 0, "length": 1, "type": "bold"}]
        assert body["result"]["reply_markup"] == markup
        assert body["result"]["from"]["is_bot"] is True
    ids = [b["result"]["message_id"] for b in (as_json, as_form, as_string)]
    assert ids == sorted(ids) and len(set(ids)) == 3


async def test_raw_multipart_upload_with_attach_uri(server: BotAPIServer) -> None:
    alice = started(server)
    form = aiohttp.FormData()
    form.add_field("chat_id", "1001")
    form.add_field("photo", "attach://chart")
    form.add_field("caption", "<b>Results</b>")
    form.add_field("parse_mode", "HTML")
    # In multipart requests objects travel as JSON-encoded strings.
    form.add_field(
        "reply_markup", json.dumps({"inline_keyboard": [[{"text": "Hi", "callback_data": "h"}]]})
    )
    form.add_field("chart", png(3, 2), filename="chart.png", content_type="image/png")
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{server.url}/bot{TOKEN}/sendPhoto", data=form) as response,
    ):
        body = await response.json()
    assert response.status == 200, body
    assert body["result"]["caption"] == "Results"
    message = await alice.expect("Results")
    assert message.photo_bytes == png(3, 2) and message.buttons == [[("Hi", "h")]]


# --------------------------------------------------------------------------------------------
# HTML and lengths


@pytest.mark.parametrize(
    ("html", "visible", "types"),
    [
        ("<b>bold</b> <strong>s</strong>", "bold s", ["bold", "bold"]),
        ("<i>i</i><em>e</em><u>u</u><ins>n</ins>", "ieun", ["italic"] * 2 + ["underline"] * 2),
        ("<s>a</s><strike>b</strike><del>c</del>", "abc", ["strikethrough"] * 3),
        ('<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>', "xy", ["spoiler"] * 2),
        ('<a href="https://example.org/?a=1&amp;b=2">link</a>', "link", ["text_link"]),
        ("<code>x &lt; y</code>", "x < y", ["code"]),
        ('<pre><code class="language-python">print(1)</code></pre>', "print(1)", ["pre"]),
        ("<blockquote>q</blockquote><blockquote expandable>e</blockquote>", "qe",
         ["blockquote", "expandable_blockquote"]),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍", ["custom_emoji"]),
        ("<b>bold <i>both</i></b>", "bold both", ["bold", "italic"]),
        ("&lt;&gt;&amp;&quot;&#65;&#x42;", "<>&\"AB", []),
        ("a > b", "a > b", []),
        ("<B>upper</B>", "upper", ["bold"]),
        ("  <b>trimmed</b>\n", "trimmed", ["bold"]),
    ],
)  # fmt: skip
async def test_valid_html_is_accepted(
    server: BotAPIServer, bot: Bot, html: str, visible: str, types: list[str]
) -> None:
    alice = started(server)
    sent = await bot.send_message(1001, html, parse_mode="HTML")
    assert sent.text == visible
    assert [e.type for e in sent.entities] == types
    message = await alice.expect()
    assert (message.text, message.html) == (visible, html)


async def test_pre_language_and_link_url(server: BotAPIServer, bot: Bot) -> None:
    started(server)
    sent = await bot.send_message(
        1001, '<pre><code class="language-py">x</code></pre> <a href="https://t.me">t</a>', "HTML"
    )
    pre, link = sent.entities
    assert (pre.type, pre.language) == ("pre", "py")
    assert link.url == "https://t.me"


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("é<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 2'),
        ("<b>never closed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("text</b>", "Unexpected end tag at byte offset 4"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("AT&T", 'Unescaped "&" at byte offset 2; use "&amp;" for a literal "&"'),
        ("&nbsp;", 'Unescaped "&" at byte offset 0; use "&amp;" for a literal "&"'),
        ('<a href=x"y>z</a>', "Unexpected end of name token at byte offset 8"),
        (
            '<a href="x"y>z</a>',
            'Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0',
        ),
    ],
)
async def test_invalid_html_is_rejected(server: BotAPIServer, html: str, error: str) -> None:
    alice = started(server)
    status, body = await call(server, "sendMessage", chat_id=1001, text=html, parse_mode="HTML")
    assert status == 400
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": f"Bad Request: can't parse entities: {error}",
    }
    assert alice.inbox == []


async def test_ptb_sees_parse_errors_as_bad_request(server: BotAPIServer, bot: Bot) -> None:
    started(server)
    with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
        await bot.send_message(1001, "<p>paragraph</p>", parse_mode="HTML")


async def test_length_limit_counts_visible_text(server: BotAPIServer) -> None:
    alice = started(server)
    tags = "<b>" + "x" * 4090 + "</b>" + "&lt;" * 6  # 4096 visible, far more raw
    status, body = await call(server, "sendMessage", chat_id=1001, text=tags, parse_mode="HTML")
    assert status == 200 and len(body["result"]["text"]) == 4096
    status, body = await call(
        server, "sendMessage", chat_id=1001, text=tags + ".", parse_mode="HTML"
    )
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    # Without parse_mode the tags are text and count.
    status, body = await call(server, "sendMessage", chat_id=1001, text=tags)
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    assert len(alice.inbox) == 1


async def test_length_counts_utf16_code_units(server: BotAPIServer, bot: Bot) -> None:
    started(server)
    assert utf16_len("😀") == 2 and utf16_len("я") == 1
    await bot.send_message(1001, "😀" * 2048)  # 4096 units
    await bot.send_message(1001, "я" * 4096)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(1001, "😀" * 2048 + "a")
    await bot.send_photo(1001, png(2, 2), caption="😀" * 512)
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(
            1001, png(2, 2), caption="<b>" + "😀" * 512 + "!</b>", parse_mode="HTML"
        )


async def test_empty_text_is_rejected(server: BotAPIServer) -> None:
    started(server)
    for text, mode in (("", None), ("  \n ", None), ("<b></b>", "HTML")):
        params: dict[str, Any] = {"chat_id": 1001, "text": text}
        if mode:
            params["parse_mode"] = mode
        status, body = await call(server, "sendMessage", **params)
        assert (status, body["description"]) == (400, "Bad Request: message text is empty")


async def test_markdown_v2(server: BotAPIServer, bot: Bot) -> None:
    started(server)
    sent = await bot.send_message(1001, "*bold* _it_ [x](https://t.me) 1\\.5", "MarkdownV2")
    assert sent.text == "bold it x 1.5"
    assert [e.type for e in sent.entities] == ["bold", "italic", "text_link"]
    with pytest.raises(BadRequest, match="character '.' is reserved"):
        await bot.send_message(1001, "1.5", parse_mode="MarkdownV2")
    assert parse_markdown_v2(">quote\nplain")[1] == [
        {"type": "blockquote", "offset": 0, "length": 5}
    ]


def test_parser_reports_byte_offsets_in_utf8() -> None:
    # "я" is two bytes in UTF-8: offsets are bytes, as in Telegram's messages.
    with pytest.raises(ValueError, match="byte offset 4"):
        parse_html("яя<x>")
    assert parse_html("😀<b>x</b>")[1] == [{"offset": 2, "length": 1, "type": "bold"}]
    assert parse_html("a & b", strict=False)[0] == "a & b"  # tdlib's own leniency


# --------------------------------------------------------------------------------------------
# Keyboards


async def test_callback_data_is_limited_to_64_bytes(server: BotAPIServer, bot: Bot) -> None:
    started(server)
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="é" * 32)]])  # 64 bytes
    await bot.send_message(1001, "fits", reply_markup=ok)
    too_long = {"inline_keyboard": [[{"text": "no", "callback_data": "é" * 32 + "x"}]]}
    status, body = await call(server, "sendMessage", chat_id=1001, text="t", reply_markup=too_long)
    assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")
    empty = {"inline_keyboard": [[{"text": "no", "callback_data": ""}]]}
    status, body = await call(server, "sendMessage", chat_id=1001, text="t", reply_markup=empty)
    assert body["description"] == "Bad Request: BUTTON_DATA_INVALID"


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ({"inline_keyboard": [[{"text": "plain"}]]}, "Text buttons are unallowed"),
        ({"inline_keyboard": [{"text": "x", "callback_data": "x"}]}, "Array of Arrays"),
        ({"inline_keyboard": [[{"callback_data": "x"}]]}, 'Field "text" must be of type String'),
        (
            {"inline_keyboard": [[{"text": "x", "callback_data": "x", "url": "https://a.b"}]]},
            "exactly one optional field",
        ),
        ({"inline_keyboard": [[{"text": "x", "url": "not a url"}]]}, "BUTTON_URL_INVALID"),
        ({"keyboard": [[{"no_text": 1}]]}, 'Field "text" must be of type String'),
        ("{broken", "can't parse reply keyboard markup JSON object"),
    ],
)
async def test_bad_keyboards_are_rejected(server: BotAPIServer, markup: Any, error: str) -> None:
    started(server)
    status, body = await call(server, "sendMessage", chat_id=1001, text="t", reply_markup=markup)
    assert status == 400 and error in body["description"], body


async def test_reply_keyboard_is_kept_but_not_returned(server: BotAPIServer) -> None:
    alice = started(server)
    status, body = await call(
        server, "sendMessage", chat_id=1001, text="pick", reply_markup={"keyboard": [["A", "B"]]}
    )
    assert status == 200 and "reply_markup" not in body["result"]
    assert (await alice.expect("pick")).reply_keyboard == [["A", "B"]]


# --------------------------------------------------------------------------------------------
# Users and chats


async def test_blocked_never_started_and_unknown_chats(server: BotAPIServer, bot: Bot) -> None:
    alice = server.user(1001, "Alice")
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(1001, "hello")
    await alice.send("/start")
    await bot.send_message(1001, "hello")
    alice.block()
    status, body = await call(server, "sendMessage", chat_id=1001, text="again")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_chat_action(1001, "typing")
    status, body = await call(server, "sendMessage", chat_id=424242, text="who?")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")
    updates = await bot.get_updates()
    member = updates[-1].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"
    alice.unblock()
    await bot.send_message(1001, "welcome back")
    assert [m.text for m in alice.inbox] == ["hello", "welcome back"]


async def test_edit_rules_and_history(server: BotAPIServer, bot: Bot) -> None:
    alice = started(server)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(1001, "<b>v1</b>", parse_mode="HTML", reply_markup=keyboard)
    view = await alice.expect("v1")
    # Same visible text and entities, same markup: not modified (even if the markup differs).
    with pytest.raises(BadRequest, match="Message is not modified: specified new message"):
        await bot.edit_message_text(
            "<strong>v1</strong>", 1001, sent.message_id, parse_mode="HTML", reply_markup=keyboard
        )
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=keyboard)
    status, body = await call(server, "editMessageText", chat_id=1001, message_id=99, text="x")
    assert (status, body["description"]) == (400, "Bad Request: message to edit not found")
    # An edit without reply_markup removes the keyboard, as in Telegram.
    await bot.edit_message_text("v2", 1001, sent.message_id)
    assert (view.text, view.buttons, [v.text for v in view.versions]) == ("v2", [], ["v1", "v2"])
    await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=keyboard)
    assert view.buttons == [[("A", "a")]] and len(view.edits) == 2
    assert await bot.delete_message(1001, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("v3", 1001, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(1001, sent.message_id)
    assert view.deleted


async def test_callback_answers_and_expiry() -> None:
    now = [1000.0]
    async with BotAPIServer(TOKEN, clock=lambda: now[0]) as server, server.bot() as bot:
        alice = started(server)
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])
        await bot.send_message(1001, "Sure?", reply_markup=keyboard)
        message = await alice.expect("Sure?")
        press = await alice.press(message, "Yes")
        query = (await bot.get_updates())[-1].callback_query
        assert query is not None and query.data == "yes" and query.message.text == "Sure?"
        with pytest.raises(BadRequest, match="Message_too_long"):
            await query.answer("x" * 201)
        assert await query.answer("Noted", show_alert=True)
        answer = await press.answer()
        assert (answer.text, answer.show_alert, answer.data) == ("Noted", True, "yes")
        assert await alice.last_answer() == answer
        with pytest.raises(BadRequest, match="Query is too old"):
            await query.answer("twice")
        late = await alice.press(message, "Yes")
        now[0] += 15.5
        status, body = await call(
            server, "answerCallbackQuery", callback_query_id=late.query_id, text="late"
        )
        assert status == 400
        assert body["description"] == (
            "Bad Request: query is too old and response timeout expired or query ID is invalid"
        )
        forged = await alice.press_data(None, "../../admin")
        update = (await bot.get_updates(offset=-1))[0]
        assert update.update_id == forged.update_id
        assert update.callback_query.data == "../../admin"
        assert update.callback_query.message.is_accessible is False


# --------------------------------------------------------------------------------------------
# Flood control and fault injection


# PTB warns about RetryAfter.retry_after becoming a timedelta; not our concern here.
ptb_retry_after_warning = pytest.mark.filterwarnings(
    "ignore::telegram.warnings.PTBDeprecationWarning"
)


@ptb_retry_after_warning
async def test_flood_control_per_chat_and_global() -> None:
    limits = FloodLimits(per_second=5, chat_burst=3, chat_rate=1.0)
    async with BotAPIServer(TOKEN, flood=True, limits=limits) as server:
        for user_id in range(1001, 1004):
            started(server, user_id)
        for _ in range(3):
            assert (await call(server, "sendMessage", chat_id=1001, text="x"))[0] == 200
        status, body = await call(server, "sendMessage", chat_id=1001, text="x")
        assert status == 429
        assert body["description"] == "Too Many Requests: retry after 1"
        assert body["parameters"] == {"retry_after": 1}
        # Other chats still have their burst, until the global 5/s window is full.
        assert (await call(server, "sendMessage", chat_id=1002, text="x"))[0] == 200
        assert (await call(server, "sendMessage", chat_id=1002, text="x"))[0] == 200
        status, body = await call(server, "sendMessage", chat_id=1003, text="x")
        assert status == 429 and body["parameters"]["retry_after"] >= 1
        assert server.rejected_429 == 2 and server.sent_count == 5

        async with server.bot() as bot:
            with pytest.raises(RetryAfter, match="Retry in 1 second"):
                await bot.send_message(1001, "again")


@ptb_retry_after_warning
async def test_forced_429_storm_and_injected_failures(server: BotAPIServer, bot: Bot) -> None:
    started(server)
    server.force_429(2, retry_after=7)
    for _ in range(2):
        with pytest.raises(RetryAfter):
            await bot.send_message(1001, "x")
    await bot.send_message(1001, "through")
    assert server.rejected_429 == 2 and server.sent_count == 1
    server.fail_next("sendMessage", 1, 502, "Bad Gateway")
    status, body = await call(server, "sendMessage", chat_id=1001, text="x")
    assert (status, body["description"]) == (502, "Bad Gateway")
    assert server.errors[("sendMessage", 502)] == 1
    assert server.calls["sendMessage"] == 4


# --------------------------------------------------------------------------------------------
# Updates


async def test_long_polling_waits_and_offsets_confirm(server: BotAPIServer, bot: Bot) -> None:
    alice = server.user(1001, "Alice", language_code="en")
    started_at = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await alice.send("/start abc")
    updates = await poll
    assert time.monotonic() - started_at < 2
    (update,) = updates
    message = message_of(update)
    assert message.text == "/start abc" and message.from_user is not None
    assert message.from_user.language_code == "en"
    assert message.entities[0].type == "bot_command"

    await alice.send("second")
    await alice.send("third")
    assert len(await bot.get_updates(limit=1)) == 1
    # Unconfirmed updates are delivered again, with the same ids.
    again = await bot.get_updates()
    assert [u.update_id for u in again] == [update.update_id + i for i in range(3)]
    # An offset forgets everything below it; the rest stays until confirmed.
    confirmed = await bot.get_updates(offset=again[1].update_id + 1)
    assert [message_of(u).text for u in confirmed] == ["third"]
    assert [u["message"]["text"] for u in server.pending_updates] == ["third"]
    assert [message_of(u).text for u in await bot.get_updates(offset=0)] == ["third"]
    assert await bot.get_updates(offset=again[2].update_id + 1) == ()
    assert server.pending_updates == []


async def test_offset_keeps_unconfirmed_and_redelivers(server: BotAPIServer, bot: Bot) -> None:
    alice = server.user(1001, "Alice")
    first = await alice.send("one")
    await alice.send("two")
    updates = await bot.get_updates()
    # Confirm only the first one: the second must come back, with its id unchanged.
    rest = await bot.get_updates(offset=updates[0].update_id + 1)
    assert [u.update_id for u in rest] == [updates[1].update_id]
    assert [u.update_id for u in await bot.get_updates()] == [updates[1].update_id]
    duplicate = server.redeliver(first.update_id)
    fetched = await bot.get_updates(offset=updates[1].update_id + 1)
    assert [(u.update_id, message_of(u).text) for u in fetched] == [(duplicate, "one")]


async def test_allowed_updates_and_conflicts(server: BotAPIServer, bot: Bot) -> None:
    alice = server.user(1001, "Alice")
    await alice.send("queued before the filter")
    assert await bot.get_updates(offset=-1, allowed_updates=["callback_query"]) != ()
    # The filter applies to updates created from now on; Telegram does not keep the others.
    await alice.send("text")
    await alice.press_data(None, "data")
    updates = await bot.get_updates()
    assert [u.callback_query.data for u in updates if u.callback_query] == ["data"]
    assert [u.message.text for u in updates if u.message] == ["queued before the filter"]

    # A second poller terminates the one already waiting (a second bot instance, in real life).
    older = asyncio.create_task(bot.get_updates(offset=updates[-1].update_id + 1, timeout=5))
    await asyncio.sleep(0.1)
    status, body = await call(server, "getUpdates", offset=updates[-1].update_id + 1)
    assert (status, body["result"]) == (200, [])
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await older

    assert await bot.set_webhook("https://example.org/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert info.url == "https://example.org/hook"
    assert server.webhook is not None and server.webhook["secret_token"] == "s3cret"
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    with pytest.raises(BadRequest, match="(?i)an https url must be provided"):
        await bot.set_webhook("http://example.org/hook")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""


async def test_webhook_delivery_to_a_local_receiver(server: BotAPIServer, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="tok")
        await server.user(1001, "Alice").send("via webhook")
        await server.wait_idle(timeout=5)
        assert [(s, u["message"]["text"]) for s, u in received] == [("tok", "via webhook")]
        assert (await bot.get_webhook_info()).pending_update_count == 0
    finally:
        await bot.delete_webhook()
        await runner.cleanup()


# --------------------------------------------------------------------------------------------
# Commands and files


async def test_my_commands_per_scope_and_language(server: BotAPIServer, bot: Bot) -> None:
    alice = server.user(1001, "Alice", language_code="ar")
    bob = server.user(1002, "Bob", language_code="fr", started=True)
    await bot.set_my_commands([("start", "Start"), ("help", "Help")])
    await bot.set_my_commands([("start", "ابدأ")], language_code="ar")
    chat_scope = {"type": "chat", "chat_id": 1002}
    status, _ = await call(server, "setMyCommands", commands=[{"command": "vote", "description": "Vote"}],
                           scope=chat_scope)  # fmt: skip
    assert status == 200
    assert server.commands() == [("start", "Start"), ("help", "Help")]
    assert server.commands(language_code="ar") == [("start", "ابدأ")]
    assert server.commands("chat", chat_id=1002) == [("vote", "Vote")]
    assert server.commands("all_private_chats") == []
    assert [c.command for c in await bot.get_my_commands(language_code="ar")] == ["start"]
    assert alice.commands() == [("start", "ابدأ")] and bob.commands() == [("vote", "Vote")]
    await bot.delete_my_commands(language_code="ar")
    assert alice.commands() == [("start", "Start"), ("help", "Help")]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([("Bad-Command", "x")])
    status, body = await call(
        server,
        "setMyCommands",
        commands=[{"command": "x", "description": "x"}],
        scope={"type": "chat", "chat_id": 999},
    )
    assert (status, body["description"]) == (400, "Bad Request: chat not found")


async def test_send_photo_and_document_keep_bytes(server: BotAPIServer, bot: Bot) -> None:
    alice = started(server)
    image = png(40, 30)
    sent = await bot.send_photo(1001, image, caption="<b>chart</b>", parse_mode="HTML")
    assert sent.photo[-1].width == 40 and sent.photo[-1].height == 30
    assert sent.caption == "chart" and sent.caption_entities[0].type == "bold"
    message = await alice.expect("chart")
    assert message.kind == "photo" and message.photo_bytes == image
    # A file_id can be sent again without uploading.
    again = await bot.send_photo(1001, sent.photo[-1].file_id)
    assert again.photo[-1].file_unique_id == sent.photo[-1].file_unique_id

    doc = await bot.send_document(1001, b"a,b\n1,2\n", filename="results.csv")
    assert doc.document is not None
    assert doc.document.file_name == "results.csv" and doc.document.mime_type == "text/csv"
    assert (await alice.expect_many(2))[1].document_bytes == b"a,b\n1,2\n"
    file = await bot.get_file(doc.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"a,b\n1,2\n"

    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(1001, b"not an image at all")
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_document(1001, "no-such-file-id")


# --------------------------------------------------------------------------------------------
# A real PTB Application against the server


async def test_application_echo_and_buttons(server: BotAPIServer) -> None:
    alice = server.user(1001, first_name="Alice", language_code="en", username="alice")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Again", callback_data="again")]])
        await message_of(update).reply_text(" ".join(context.args or []), reply_markup=keyboard)

    async def again(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await query_of(update).answer("Once more")
        await query_of(update).edit_message_text("<i>edited</i>", parse_mode="HTML")

    application = server.application_builder().build()
    application.add_handler(CommandHandler("echo", echo))
    application.add_handler(CallbackQueryHandler(again))
    async with server.polling(application):
        await alice.send("/echo hi there")
        reply = await alice.expect("hi there", timeout=5)
        assert reply.buttons == [[("Again", "again")]]
        press = await alice.press(reply, "Again")
        assert (await press).text == "Once more"
        assert (await alice.last_answer()).text == "Once more"
        await reply.wait_for("edited")
        assert reply.html == "<i>edited</i>" and reply.buttons == []
        await alice.expect_nothing(within=0.2)
        await server.wait_idle()
    assert server.calls["getMe"] == 1 and server.calls["deleteWebhook"] == 1
    # PTB abandons its last long poll when it stops; that is not counted as an error.
    assert not server.errors


async def test_expect_failure_explains_what_happened(server: BotAPIServer, bot: Bot) -> None:
    alice = started(server)
    await bot.send_message(1001, "Hello")
    with pytest.raises(BadRequest):
        await bot.send_message(1001, "<b>oops", parse_mode="HTML")
    with pytest.raises(AssertionError, match="does not contain 'Welcome'"):
        await alice.expect("Welcome", timeout=0.5)
    with pytest.raises(AssertionError, match="can't parse entities") as caught:
        await alice.expect(timeout=0.2)
    assert "Hello" in str(caught.value)


async def test_expect_unordered_and_predicates(server: BotAPIServer, bot: Bot) -> None:
    alice = started(server)
    for text in ("Turnout: 0 of 8", "Item 1: the budget", "Item 2"):
        await bot.send_message(1001, text)
    item, turnout = await alice.expect_unordered("Item 1", lambda m: "Turnout" in m.text)
    assert (item.text, turnout.text) == ("Item 1: the budget", "Turnout: 0 of 8")
    second = await alice.expect(lambda m: m.text.startswith("Item"))
    with pytest.raises(AssertionError, match="do not match"):
        await bot.send_message(1001, "a")
        await bot.send_message(1001, "b")
        await alice.expect_unordered("a", "a")
    await bot.delete_message(1001, second.message_id)
    assert (await second.wait_for(deleted=True)).deleted


# --------------------------------------------------------------------------------------------
# Standalone mode and its control API


async def test_standalone_server_and_control_client() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.botapi",
        "--port",
        "0",
        "--token",
        TOKEN,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()
        assert line.startswith("READY http://127.0.0.1:")
        url = line.split()[1]
        async with ControlClient(url) as control, Bot(TOKEN, base_url=f"{url}/bot") as bot:
            alice = await control.user(1001, "Alice", language_code="en")
            update_id = await alice.send("/start")
            (update,) = await bot.get_updates()
            assert update.update_id == update_id
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("Vote", callback_data="v:1")]])
            await bot.send_message(1001, "<b>Ballot</b>", parse_mode="HTML", reply_markup=markup)
            message = await alice.expect("Ballot")
            assert message.html == "<b>Ballot</b>" and message.buttons == [[("Vote", "v:1")]]
            query_id = await alice.press(message, "Vote")
            (update,) = await bot.get_updates(offset=update_id + 1)
            assert query_of(update).id == query_id
            await query_of(update).answer("Counted")
            assert (await control.answers(1001))[0]["text"] == "Counted"
            await control.block(1001)
            with pytest.raises(Forbidden):
                await bot.send_message(1001, "x")
            stats = await control.stats()
            assert stats["sent"] == 1 and stats["per_method"]["sendMessage"] == 2
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def test_rejected_calls_are_recorded_unless_provoked(server: BotAPIServer, bot: Bot) -> None:
    """What the e2e fixture checks after every test: each call Telegram would reject."""
    alice = started(server)
    sent = await bot.send_message(1001, "same")
    await alice.expect("same")
    assert server.unexpected_rejections() == []
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("same", 1001, sent.message_id)
    (rejected,) = server.unexpected_rejections()
    assert rejected.method == "editMessageText" and rejected.status == 400
    # A fault the test injects is provoked by it, and so is a rejection it declares.
    server.fail_next("sendMessage", error_code=500)
    with pytest.raises(Exception, match="Internal Server Error"):
        await bot.send_message(1001, "x")
    alice.block()
    with pytest.raises(Forbidden):
        await bot.send_message(1001, "y")
    assert len(server.unexpected_rejections()) == 2
    server.expect_rejections(403, "blocked")
    server.expect_rejections(400, "NOT MODIFIED")
    assert server.unexpected_rejections() == []
    assert len(server.rejected) == 3
