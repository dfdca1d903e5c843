"""A fake Telegram Bot API server for end-to-end tests.

The server speaks the HTTP protocol of api.telegram.org closely enough that python-telegram-bot
runs against it unchanged (``base_url`` pointed here), and it is strict where Telegram is strict:
HTML is parsed and validated, lengths are counted in UTF-16 code units after parsing, inline
keyboards are checked, blocked users answer 403, flood control answers 429.

The test side plays the users: ``server.user(...)`` returns a :class:`FakeUser` that sends
messages, presses buttons and waits for what the bot sends back, so a test reads like a
transcript of the conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import mimetypes
import re
import secrets
import struct
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

log = logging.getLogger(__name__)

JSON = dict[str, Any]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# Telegram's documented limits, counted in UTF-16 code units after entity parsing.
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_ANSWER_TEXT = 200
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"

# Without an explicit allowed_updates Telegram leaves these out.
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

# Methods that Telegram's flood control counts as "sending a message".
FLOOD_METHODS = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup"}
)


# --------------------------------------------------------------------------------------------
# Errors


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status == error_code, like Telegram."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters
        self.injected = False  # raised by a fault a test asked for

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(message: str) -> ApiError:
    return ApiError(400, f"Bad Request: {message}")


def forbidden(message: str) -> ApiError:
    return ApiError(403, f"Forbidden: {message}")


def too_many_requests(retry_after: int) -> ApiError:
    retry_after = max(1, int(retry_after))
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


# --------------------------------------------------------------------------------------------
# Text: UTF-16 lengths and Telegram's HTML dialect


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class EntityParseError(ValueError):
    """Raised with Telegram's wording; the API prefixes it with "can't parse entities: "."""


# tdlib's is_space(): the characters that end a tag name or separate attributes.
_TAG_SPACES = frozenset(" \t\r\n\v\f\0")
_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_html_entity(src: str, pos: int) -> tuple[str, int, bool] | None:
    """Decode the character reference starting at src[pos] == "&".

    Returns (character, end position, ended with ";") or None when it is not one of the
    references Telegram understands (then tdlib keeps the "&" as plain text).
    """
    n = len(src)
    end = pos + 1
    if end < n and src[end] == "#":
        end += 1
        hexadecimal = end < n and src[end] == "x"
        if hexadecimal:
            end += 1
        start = end
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        while end < n and src[end] in digits:
            end += 1
        value = int(src[start:end], 16 if hexadecimal else 10) if end > start else 0
        if value == 0 or value >= 0x10FFFF or end - pos >= 10 or 0xD800 <= value <= 0xDFFF:
            return None
        char = chr(value)
    else:
        start = end
        while end < n and src[end].isascii() and src[end].isalpha():
            end += 1
        decoded = _NAMED_ENTITIES.get(src[start:end])
        if decoded is None:
            return None
        char = decoded
    if end < n and src[end] == ";":
        return char, end + 1, True
    return char, end, False


@dataclass
class _OpenTag:
    tag: str
    argument: str
    expandable: bool
    offset: int  # UTF-16 offset in the visible text
    out_index: int  # index into the list of visible pieces, for <a> without href
    byte_offset: int


def _valid_link(url: str) -> str | None:
    """What tdlib's check_url would accept, normalised; None drops the link silently."""
    url = url.strip()
    if not url:
        return None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in {"http", "https", "ftp"}:
        return url if parts.netloc else None
    if scheme in {"tg", "ton", "mailto"}:
        return url
    if not scheme and re.match(r"^[\w-]+(\.[\w-]+)*\.[a-zA-Z]{2,}(:\d+)?(/.*)?$", url):
        return f"http://{url}"
    return None


def parse_html(
    src: str, *, strict: bool = True, users: dict[int, JSON] | None = None
) -> tuple[str, list[JSON]]:
    """Parse Telegram-flavoured HTML into (visible text, entities).

    Follows tdlib's parser: same tags, attributes, error wording and byte offsets. With
    ``strict`` a "&" that does not start a complete character reference is an error, as the
    Bot API documentation requires ("All <, > and & symbols that are not a part of a tag or an
    HTML entity must be replaced"); tdlib itself would keep it as text.
    """
    out: list[str] = []
    u16 = 0
    stack: list[_OpenTag] = []
    entities: list[JSON] = []
    n = len(src)
    i = 0

    def byte_offset(pos: int) -> int:
        return len(src[:pos].encode("utf-8", "surrogatepass"))

    def emit(text: str) -> None:
        nonlocal u16
        out.append(text)
        u16 += utf16_len(text)

    while i < n:
        c = src[i]
        if c == "&":
            decoded = _decode_html_entity(src, i)
            if decoded is not None and (decoded[2] or not strict):
                emit(decoded[0])
                i = decoded[1]
                continue
            if strict:
                raise EntityParseError(
                    f'Unescaped "&" at byte offset {byte_offset(i)}; use "&amp;" for a literal "&"'
                )
        if c != "<":
            emit(c)
            i += 1
            continue

        begin = i
        i += 1
        if i < n and src[i] == "/":
            # An end tag closes the innermost open tag; "</>" is allowed, like in tdlib.
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
            i += 1
            start = i
            while i < n and src[i] not in _TAG_SPACES and src[i] != ">":
                i += 1
            end_name = src[start:i].lower()
            while i < n and src[i] in _TAG_SPACES:
                i += 1
            if i >= n or src[i] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            i += 1
            top = stack.pop()
            if end_name and end_name != top.tag:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {byte_offset(begin)}, "
                    f'expected "</{top.tag}>", found "</{end_name}>"'
                )
            _close_tag(top, u16, "".join(out[top.out_index :]), entities, users or {})
            continue

        while i < n and src[i] not in _TAG_SPACES and src[i] != ">":
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        tag = src[begin + 1 : i].lower()
        if tag not in _HTML_TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}'
            )

        argument = ""
        expandable = False
        while True:
            while i < n and src[i] in _TAG_SPACES:
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if src[i] == ">":
                break
            name_start = i
            while i < n and src[i] not in _TAG_SPACES and src[i] not in "=>":
                i += 1
            attribute = src[name_start:i]
            if not attribute:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {byte_offset(begin)}'
                )
            while i < n and src[i] in _TAG_SPACES:
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if src[i] != "=":
                if tag == "blockquote" and attribute == "expandable":
                    expandable = True
                    continue
                raise EntityParseError(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag}" at byte offset {byte_offset(begin)}'
                )
            i += 1
            while i < n and src[i] in _TAG_SPACES:
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if src[i] not in "'\"":
                # An unquoted name token: letters, digits, periods and hyphens.
                token_start = i
                while i < n and ((src[i].isascii() and src[i].isalnum()) or src[i] in ".-"):
                    i += 1
                value = src[token_start:i].lower()
                if i >= n or (src[i] not in _TAG_SPACES and src[i] != ">"):
                    raise EntityParseError(
                        f"Unexpected end of name token at byte offset {byte_offset(token_start)}"
                    )
            else:
                quote = src[i]
                i += 1
                chars: list[str] = []
                while i < n and src[i] != quote:
                    if src[i] == "&":
                        decoded = _decode_html_entity(src, i)
                        if decoded is not None:
                            chars.append(decoded[0])
                            i = decoded[1]
                            continue
                    chars.append(src[i])
                    i += 1
                if i < n:
                    i += 1
                value = "".join(chars)
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if tag == "a" and attribute == "href":
                argument = value
            elif tag == "code" and attribute == "class" and value.startswith("language-"):
                argument = value[len("language-") :]
            elif tag == "span" and attribute == "class" and value.startswith("tg-"):
                argument = value[len("tg-") :]
            elif tag == "tg-emoji" and attribute == "emoji-id":
                argument = value
            elif tag == "blockquote" and attribute == "expandable":
                expandable = True
            # Any other attribute is ignored, as tdlib does.
        i += 1  # the ">"

        if tag == "span" and argument != "spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
            )
        if tag == "tg-emoji" and not argument.isdigit():
            raise EntityParseError(
                f'Tag "tg-emoji" must have a numeric "emoji-id" at byte offset {byte_offset(begin)}'
            )
        stack.append(_OpenTag(tag, argument, expandable, u16, len(out), byte_offset(begin)))

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    for entity in entities:
        entity.pop("_language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close_tag(
    top: _OpenTag, u16: int, inner_text: str, entities: list[JSON], users: dict[int, JSON]
) -> None:
    length = u16 - top.offset
    if length <= 0:
        return  # empty entities vanish, as in Telegram
    entity: JSON = {"offset": top.offset, "length": length}
    if top.tag in _SIMPLE_ENTITY:
        entity["type"] = _SIMPLE_ENTITY[top.tag]
        if top.tag == "code" and top.argument:
            entity["_language"] = top.argument
    elif top.tag == "a":
        url = top.argument or inner_text
        match = re.match(r"^tg://user\?id=(\d+)$", url)
        if match:
            user = users.get(int(match.group(1)))
            if user is None:
                return
            entity.update(type="text_mention", user=user)
        else:
            link = _valid_link(url)
            if link is None:
                return
            entity.update(type="text_link", url=link)
    elif top.tag == "pre":
        entity["type"] = "pre"
        # <pre><code class="language-x">...</code></pre> is one pre entity with a language.
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and last["offset"] == top.offset
            and last["length"] == length
        ):
            entities.pop()
            if last.get("_language"):
                entity["language"] = last["_language"]
    elif top.tag == "blockquote":
        entity["type"] = "expandable_blockquote" if top.expandable else "blockquote"
    elif top.tag == "tg-emoji":
        entity.update(type="custom_emoji", custom_emoji_id=top.argument)
    entities.append(entity)


# MarkdownV2: characters that must be escaped with a backslash outside of entities.
_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_KINDS = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}
_MDV2_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "`": "Code",
    "```": "Pre",
    "[": "TextUrl",
}


def parse_markdown_v2(src: str) -> tuple[str, list[JSON]]:
    """Parse MarkdownV2 into (visible text, entities), with Telegram's error wording."""
    out: list[str] = []
    u16 = 0
    entities: list[JSON] = []
    # Open entities: (marker, UTF-16 offset, byte offset of the marker, pre language)
    stack: list[tuple[str, int, int, str]] = []
    quote_start: int | None = None
    n = len(src)
    i = 0

    def byte_offset(pos: int) -> int:
        return len(src[:pos].encode("utf-8", "surrogatepass"))

    def emit(text: str) -> None:
        nonlocal u16
        out.append(text)
        u16 += utf16_len(text)

    def reserved(char: str) -> EntityParseError:
        return EntityParseError(
            f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
        )

    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126:
            emit(src[i + 1])
            i += 2
            continue
        if stack and stack[-1][0] in ("`", "```"):
            # Inside code only "`" and "\\" are special.
            marker, offset, _, language = stack[-1]
            if src.startswith(marker, i):
                stack.pop()
                if u16 > offset:
                    entity: JSON = {
                        "type": "code" if marker == "`" else "pre",
                        "offset": offset,
                        "length": u16 - offset,
                    }
                    if language:
                        entity["language"] = language
                    entities.append(entity)
                i += len(marker)
            else:
                emit(c)
                i += 1
            continue
        if c == "\n" and quote_start is not None and not src.startswith(">", i + 1):
            if u16 > quote_start:
                entities.append(
                    {"type": "blockquote", "offset": quote_start, "length": u16 - quote_start}
                )
            quote_start = None
        if c not in _MDV2_RESERVED:
            emit(c)
            i += 1
            continue
        if c in "*_~" or src.startswith("||", i):
            marker = c
            if src.startswith("__", i):
                marker = "__"
            elif c == "|":
                marker = "||"
            if stack and stack[-1][0] == marker:
                _, offset, _, _ = stack.pop()
                if u16 > offset:
                    entities.append(
                        {"type": _MDV2_KINDS[marker], "offset": offset, "length": u16 - offset}
                    )
            elif any(item[0] == marker for item in stack):
                top = stack[-1]
                raise EntityParseError(
                    f"Can't find end of {_MDV2_NAMES[top[0]]} entity at byte offset {top[2]}"
                )
            else:
                stack.append((marker, u16, byte_offset(i), ""))
            i += len(marker)
            continue
        if c == "`":
            if src.startswith("```", i):
                j = i + 3
                line_end = src.find("\n", j)
                language = ""
                if line_end != -1 and not any(ch.isspace() or ch == "`" for ch in src[j:line_end]):
                    language = src[j:line_end]
                    j = line_end + 1
                stack.append(("```", u16, byte_offset(i), language))
                i = j
            else:
                stack.append(("`", u16, byte_offset(i), ""))
                i += 1
            continue
        if c == "[":
            stack.append(("[", u16, byte_offset(i), ""))
            i += 1
            continue
        if c == "]" and stack and stack[-1][0] == "[":
            _, offset, begin, _ = stack.pop()
            i += 1
            if i >= n or src[i] != "(":
                raise EntityParseError(f"Can't find end of a url at byte offset {byte_offset(i)}")
            url_start = i
            i += 1
            url_chars: list[str] = []
            while i < n and src[i] != ")":
                if src[i] == "\\" and i + 1 < n:
                    i += 1
                url_chars.append(src[i])
                i += 1
            if i >= n:
                raise EntityParseError(
                    f"Can't find end of a url at byte offset {byte_offset(url_start)}"
                )
            i += 1
            link = _valid_link("".join(url_chars))
            if link and u16 > offset:
                entities.append(
                    {"type": "text_link", "offset": offset, "length": u16 - offset, "url": link}
                )
            continue
        if c == ">" and (i == 0 or src[i - 1] == "\n"):
            # "> text" lines form a block quotation; consecutive lines join into one.
            if quote_start is None:
                quote_start = u16
            i += 1
            continue
        raise reserved(c)
    if stack:
        marker, _, begin, _ = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[marker]} entity at byte offset {begin}"
        )
    if quote_start is not None and u16 > quote_start:
        entities.append({"type": "blockquote", "offset": quote_start, "length": u16 - quote_start})
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def parse_markdown(src: str) -> tuple[str, list[JSON]]:
    """Legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); backslash escapes."""
    out: list[str] = []
    u16 = 0
    entities: list[JSON] = []
    n = len(src)
    i = 0
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.append(src[i + 1])
            u16 += 1
            i += 2
            continue
        if c not in "_*`[":
            out.append(c)
            u16 += utf16_len(c)
            i += 1
            continue
        begin = len(src[:i].encode("utf-8", "surrogatepass"))
        pre = src.startswith("```", i)
        end_char = "]" if c == "[" else c
        j = i + (3 if pre else 1)
        language = ""
        if pre:
            k = j
            while k < n and not src[k].isspace() and src[k] != "`":
                k += 1
            if k > j and k < n and src[k] != "`":
                language = src[j:k]
                j = k
            if j < n and src[j] in "\r\n":
                j += 1
        start = u16
        chunk: list[str] = []
        while j < n and (src[j] != end_char or (pre and not src.startswith("```", j))):
            chunk.append(src[j])
            j += 1
        if j >= n:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin}")
        text = "".join(chunk)
        out.append(text)
        u16 += utf16_len(text)
        j += 3 if pre else 1
        length = u16 - start
        if c == "[":
            url = text
            if j < n and src[j] == "(":
                close = src.find(")", j)
                if close == -1:
                    close = n
                url = src[j + 1 : close]
                j = close + 1
            link = _valid_link(url)
            if link and length:
                entities.append(
                    {"type": "text_link", "offset": start, "length": length, "url": link}
                )
        elif length:
            kind = {"*": "bold", "_": "italic", "`": "pre" if pre else "code"}[c]
            entity: JSON = {"type": kind, "offset": start, "length": length}
            if pre and language:
                entity["language"] = language
            entities.append(entity)
        i = j
    return "".join(out), entities


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram strips leading and trailing whitespace from texts and captions."""
    stripped = text.lstrip(" \t\n")
    lead = utf16_len(text) - utf16_len(stripped)
    stripped = stripped.rstrip(" \t\n")
    total = utf16_len(stripped)
    kept: list[JSON] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(total, entity["offset"] + entity["length"] - lead)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


_BOT_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")


def detect_commands(text: str) -> list[JSON]:
    """bot_command entities as a Telegram client marks them in what a user types."""
    return [
        {"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m[0])}
        for m in _BOT_COMMAND.finditer(text)
    ]


# --------------------------------------------------------------------------------------------
# Images: just enough to know the dimensions Telegram would report


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF, JPEG or WebP image, or None if it is not one."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
        elif data[:6] in (b"GIF87a", b"GIF89a"):
            width, height = struct.unpack("<HH", data[6:10])
        elif data.startswith(b"\xff\xd8"):
            return _jpeg_size(data)
        elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            chunk = data[12:16]
            if chunk == b"VP8X":
                width = 1 + int.from_bytes(data[24:27], "little")
                height = 1 + int.from_bytes(data[27:30], "little")
            elif chunk == b"VP8 ":
                width, height = (v & 0x3FFF for v in struct.unpack("<HH", data[26:30]))
            elif chunk == b"VP8L":
                bits = int.from_bytes(data[21:25], "little")
                width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            else:
                return None
        else:
            return None
    except struct.error:
        return None
    return (width, height) if width > 0 and height > 0 else None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return (width, height) if width and height else None
        (segment,) = struct.unpack(">H", data[i + 2 : i + 4])
        i += 2 + segment
    return None


# --------------------------------------------------------------------------------------------
# Request parameters


@dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


class Params:
    """Request parameters as Telegram sees them: every top-level value is a string.

    A JSON body is flattened the way telegram-bot-api does it (strings stay as they are,
    anything else is re-encoded as JSON), so JSON, form and multipart requests are all read
    by the same typed accessors.
    """

    def __init__(
        self,
        values: dict[str, str],
        files: dict[str, Upload],
        client_gone: Callable[[], bool] = lambda: False,
    ) -> None:
        self.values = values
        self.files = files
        self.client_gone = client_gone  # the HTTP client disconnected (a cancelled long poll)

    def text(self, name: str) -> str | None:
        return self.values.get(name)

    def integer(self, name: str, default: int | None = None) -> int | None:
        raw = self.values.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            try:
                number = float(raw)
            except ValueError:
                raise bad_request(f"invalid {name} specified") from None
            return int(number)

    def number(self, name: str, default: float) -> float:
        raw = self.values.get(name)
        if raw is None or raw == "":
            return default
        try:
            return float(raw)
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        return (self.values.get(name) or "").lower() in {"true", "1"}

    def json(self, name: str, error: str) -> Any:
        raw = self.values.get(name)
        if raw is None or raw == "":
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise bad_request(error) from None

    def public(self) -> dict[str, str]:
        """For the request log: values plus a note for each uploaded file."""
        logged = dict(self.values)
        for name, upload in self.files.items():
            logged[name] = f"<file {upload.filename!r}, {len(upload.data)} bytes>"
        return logged


async def read_params(request: web.Request) -> Params:
    values: dict[str, str] = {key: value for key, value in request.query.items()}
    files: dict[str, Upload] = {}
    params = Params(values, files, lambda: _client_gone(request))
    if not request.body_exists:
        return params
    content_type = request.content_type
    if content_type == "application/json":
        body = await request.read()
        if body.strip():
            try:
                data = json.loads(body)
            except ValueError:
                raise bad_request("can't parse JSON encoded request") from None
            if not isinstance(data, dict):
                raise bad_request("JSON object expected in request body")
            for key, value in data.items():
                if value is not None:
                    values[key] = value if isinstance(value, str) else json.dumps(value)
    elif content_type.startswith("multipart/"):
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                files[part.name] = Upload(
                    part.filename, part.headers.get("Content-Type"), bytes(await part.read())
                )
            else:
                values[part.name] = await part.text()
    else:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = Upload(value.filename, value.content_type, value.file.read())
            else:
                values[key] = str(value)
    return params


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


class _Abandoned(Exception):
    """The client of a long poll went away (PTB cancels its poll when it stops)."""


# --------------------------------------------------------------------------------------------
# Reply markup


_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def _valid_button_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme.lower() in {"http", "https"}:
        return ("." in parts.netloc) or (parts.hostname in LOOPBACK_HOSTS)
    return parts.scheme.lower() in {"tg", "ton"} and len(url) > len(parts.scheme) + 1


def parse_reply_markup(params: Params) -> JSON | None:
    markup = params.json("reply_markup", "can't parse reply keyboard markup JSON object")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return {"inline_keyboard": _inline_keyboard(markup["inline_keyboard"])}
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
            )
        keyboard: list[list[JSON]] = []
        for row in rows:
            keyboard.append([])
            for button in row:
                if isinstance(button, str):
                    button = {"text": button}
                if not isinstance(button, dict):
                    raise bad_request(
                        "can't parse keyboard button: KeyboardButton must be a String or an Object"
                    )
                if not isinstance(button.get("text"), str):
                    raise bad_request(
                        'can\'t parse keyboard button: Field "text" must be of type String'
                    )
                keyboard[-1].append(button)
        return {**markup, "keyboard": keyboard}
    if markup.get("remove_keyboard") or markup.get("hide_keyboard"):
        return {"remove_keyboard": True}
    if markup.get("force_reply"):
        return {**markup, "force_reply": True}
    return None  # an object with none of the known fields means "no markup" to Telegram


def _inline_keyboard(rows: Any) -> list[list[JSON]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    keyboard: list[list[JSON]] = []
    for row in rows:
        keyboard.append([])
        for button in row:
            if not isinstance(button, dict):
                raise bad_request(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            text = button.get("text")
            if not isinstance(text, str):
                raise bad_request(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if not text.strip():
                raise bad_request("BUTTON_TEXT_INVALID")
            actions = [key for key in _INLINE_ACTIONS if key in button]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            if len(actions) > 1:
                raise bad_request(
                    "can't parse inline keyboard button: InlineKeyboardButton must have exactly "
                    f"one optional field, got {', '.join(actions)}"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not (
                    1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                ):
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in button:
                if not isinstance(button["url"], str) or not _valid_button_url(button["url"]):
                    raise bad_request("BUTTON_URL_INVALID")
            keyboard[-1].append(dict(button))
    return keyboard


# --------------------------------------------------------------------------------------------
# Flood control


@dataclass
class FloodLimits:
    """Telegram's limits: ~30 messages/second overall and ~1/second per chat, small bursts."""

    per_second: int = 30
    chat_burst: float = 3.0
    chat_rate: float = 1.0
    retry_after: int | None = None  # a fixed answer instead of the computed wait


class FloodGate:
    """Sliding one-second window for the whole bot and a token bucket per chat."""

    def __init__(self, limits: FloodLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self.window: deque[float] = deque()
        self.buckets: dict[int, tuple[float, float]] = {}

    def admit(self, chat_id: int) -> None:
        """Count one message for chat_id, or raise 429 without counting it."""
        now = self.clock()
        while self.window and self.window[0] <= now - 1.0:
            self.window.popleft()
        wait = 0.0
        if len(self.window) >= self.limits.per_second:
            wait = self.window[0] + 1.0 - now
        tokens, last = self.buckets.get(chat_id, (self.limits.chat_burst, now))
        tokens = min(self.limits.chat_burst, tokens + (now - last) * self.limits.chat_rate)
        if tokens < 1.0:
            wait = max(wait, (1.0 - tokens) / self.limits.chat_rate)
        if wait > 0:
            self.buckets[chat_id] = (tokens, now)
            retry = self.limits.retry_after or max(1, math.ceil(wait))
            raise too_many_requests(retry)
        self.buckets[chat_id] = (tokens - 1.0, now)
        self.window.append(now)


# --------------------------------------------------------------------------------------------
# What the server stores


class Button(NamedTuple):
    """An inline button as a user sees it; data is None for URL and other non-callback buttons."""

    text: str
    data: str | None


@dataclass(frozen=True)
class MessageVersion:
    """One state of a message: the original or the result of an edit."""

    text: str  # visible text (or caption), after entity parsing
    html: str  # the raw text exactly as the bot sent it
    entities: tuple[JSON, ...]
    reply_markup: JSON | None
    parse_mode: str | None
    date: int


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str  # "photo" or "document"
    data: bytes | None
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    url: str | None = None
    file_path: str = ""

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else 0


@dataclass
class CallbackAnswer:
    """What the bot answered to a callback query (answerCallbackQuery)."""

    query_id: str
    data: str | None
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


@dataclass
class ApiCall:
    """One request the bot made, for assertions and for failure reports."""

    method: str
    params: dict[str, str]
    status: int
    description: str | None
    at: float
    injected: bool = False  # failed by fail_next() or force_429(), not by the call itself


@dataclass
class _Query:
    query_id: str
    user_id: int
    data: str | None
    created: float
    answer: CallbackAnswer | None = None


@dataclass
class _Fault:
    method: str  # canonical method name or "*"
    remaining: int
    error: ApiError | None
    delay: float = 0.0


@dataclass
class _Update:
    update_id: int
    kind: str
    payload: JSON
    user_id: int | None

    def to_api(self) -> JSON:
        return {"update_id": self.update_id, self.kind: self.payload}


class _Changed:
    """Wakes every waiter whenever something observable happens on the server."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(0.0, seconds))


# Invisible direction marks and isolates: a reader does not see them, so expectations
# about what a user reads ignore them.
_BIDI_MARKS = dict.fromkeys(map(ord, "\u200e\u200f\u2066\u2067\u2068\u2069\u061c"))


def visible(text: str) -> str:
    """``text`` without invisible bidi marks, as a reader compares it."""
    return text.translate(_BIDI_MARKS)


Expected = str | Iterable[str] | Callable[["SentMessage"], bool] | None


def _split_expected(
    contains: Expected, predicate: Callable[[SentMessage], bool] | None
) -> tuple[str | Iterable[str] | None, Callable[[SentMessage], bool] | None]:
    """A callable given where text was expected is a predicate: wait_for(lambda m: ...)."""
    if callable(contains):
        if predicate is not None:
            raise TypeError("give either a predicate or contains=..., not two predicates")
        return None, contains
    return contains, predicate


def _contains_all(text: str, contains: str | Iterable[str] | None) -> list[str]:
    if contains is None:
        return []
    needles = [contains] if isinstance(contains, str) else list(contains)
    return [needle for needle in needles if needle not in visible(text)]


class SentMessage:
    """A message in a private chat, as the server keeps it (usually one the bot sent).

    ``text`` is what the user sees now (HTML removed, entities decoded, after edits); ``html`` is
    the raw text the bot sent; ``versions`` has every state, ``edits`` the ones after the first.
    For photos and documents ``text`` is the visible caption.
    """

    def __init__(
        self,
        server: BotAPIServer,
        *,
        chat_id: int,
        message_id: int,
        sender: JSON,
        from_bot: bool,
        kind: str,
        version: MessageVersion,
        file: StoredFile | None = None,
        reply_to: int | None = None,
    ) -> None:
        self.server = server
        self.chat_id = chat_id
        self.message_id = message_id
        self.date = version.date
        self.sender = sender
        self.from_bot = from_bot
        self.kind = kind
        self.versions: list[MessageVersion] = [version]
        self.file = file
        self.reply_to = reply_to
        self.deleted = False
        self.stored_at = time.time()  # when the server took it (epoch seconds, for latency)

    # The current state ------------------------------------------------------------------

    @property
    def current(self) -> MessageVersion:
        return self.versions[-1]

    @property
    def text(self) -> str:
        return self.current.text

    @property
    def caption(self) -> str:
        return self.current.text

    @property
    def html(self) -> str:
        return self.current.html

    @property
    def entities(self) -> list[JSON]:
        return list(self.current.entities)

    @property
    def parse_mode(self) -> str | None:
        return self.current.parse_mode

    @property
    def reply_markup(self) -> JSON | None:
        return self.current.reply_markup

    @property
    def edits(self) -> list[MessageVersion]:
        return self.versions[1:]

    @property
    def edited(self) -> bool:
        return len(self.versions) > 1

    @property
    def inline_keyboard(self) -> list[list[JSON]]:
        markup = self.reply_markup or {}
        return [list(row) for row in markup.get("inline_keyboard", [])]

    @property
    def buttons(self) -> list[list[Button]]:
        return [
            [Button(b["text"], b.get("callback_data")) for b in row] for row in self.inline_keyboard
        ]

    @property
    def button_texts(self) -> list[str]:
        return [button.text for row in self.buttons for button in row]

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        markup = self.reply_markup or {}
        if "keyboard" not in markup:
            return None
        return [[button["text"] for button in row] for row in markup["keyboard"]]

    @property
    def photo_bytes(self) -> bytes | None:
        return self.file.data if self.file and self.file.kind == "photo" else None

    @property
    def document_bytes(self) -> bytes | None:
        return self.file.data if self.file and self.file.kind == "document" else None

    @property
    def file_name(self) -> str | None:
        return self.file.file_name if self.file else None

    @property
    def mime_type(self) -> str | None:
        return self.file.mime_type if self.file else None

    def button(self, text: str) -> JSON:
        """The inline button whose text is ``text`` (exact, else the only one containing it)."""
        flat = [b for row in self.inline_keyboard for b in row]
        exact = [b for b in flat if b["text"] == text]
        partial = [b for b in flat if text in b["text"]]
        if exact:
            return exact[0]
        if len(partial) == 1:
            return partial[0]
        raise AssertionError(
            f"no single button {text!r} on message {self.message_id} "
            f"(buttons: {[b['text'] for b in flat]}; text: {self.text!r})"
        )

    async def wait_for(
        self,
        contains: Expected = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - an assertion deadline, not a cancel scope
        predicate: Callable[[SentMessage], bool] | None = None,
        edits: int | None = None,
        deleted: bool | None = None,
    ) -> SentMessage:
        """Wait until edits make the message match: contains, predicate, at least ``edits``
        edits, and/or ``deleted``. A callable as first argument is the predicate."""
        contains, predicate = _split_expected(contains, predicate)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ok = not _contains_all(self.text, contains)
            ok = ok and (predicate is None or predicate(self))
            ok = ok and (edits is None or len(self.edits) >= edits)
            ok = ok and (deleted is None or self.deleted == deleted)
            if ok:
                return self
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"message {self.message_id} in chat {self.chat_id} never matched "
                    f"(contains={contains!r}, edits={edits}, deleted={deleted}); "
                    f"now {self.text!r}{' (deleted)' if self.deleted else ''} after "
                    f"{len(self.edits)} edit(s)" + self.server._failures_note(self.chat_id)
                )
            await self.server._changed.wait(remaining)

    # Serialisation ----------------------------------------------------------------------

    def to_api(self, *, with_reply: bool = True) -> JSON:
        """The Message object Telegram would return."""
        current = self.current
        data: JSON = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.server._chat_dict(self.chat_id),
            "date": self.date,
        }
        if self.edited:
            data["edit_date"] = current.date
        if with_reply and self.reply_to is not None:
            replied = self.server._message(self.chat_id, self.reply_to)
            if replied is not None and not replied.deleted:
                data["reply_to_message"] = replied.to_api(with_reply=False)
        key = "entities" if self.kind == "text" else "caption_entities"
        if self.kind == "text":
            data["text"] = current.text
        elif current.text:
            data["caption"] = current.text
        if current.entities and (self.kind == "text" or current.text):
            data[key] = [dict(e) for e in current.entities]
        if self.file is not None:
            if self.kind == "photo":
                data["photo"] = self.server._photo_sizes(self.file)
            elif self.kind == "document":
                document: JSON = {
                    "file_id": self.file.file_id,
                    "file_unique_id": self.file.file_unique_id,
                    "file_size": self.file.size,
                }
                if self.file.file_name:
                    document["file_name"] = self.file.file_name
                if self.file.mime_type:
                    document["mime_type"] = self.file.mime_type
                data["document"] = document
        # Only inline keyboards are part of a Message; reply keyboards live on the client.
        if current.reply_markup and "inline_keyboard" in current.reply_markup:
            data["reply_markup"] = current.reply_markup
        return data

    def to_control(self) -> JSON:
        """A flat JSON view for the control API."""
        return {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "date": self.date,
            "from_bot": self.from_bot,
            "kind": self.kind,
            "text": self.text,
            "html": self.html,
            "entities": self.entities,
            "buttons": [
                [{"text": b["text"], **{k: v for k, v in b.items() if k != "text"}} for b in row]
                for row in self.inline_keyboard
            ],
            "reply_keyboard": self.reply_keyboard,
            "edits": [{"text": v.text, "html": v.html, "date": v.date} for v in self.edits],
            "deleted": self.deleted,
            "file_name": self.file_name,
            "file_size": self.file.size if self.file else None,
        }

    def __repr__(self) -> str:
        who = "bot" if self.from_bot else "user"
        flags = " deleted" if self.deleted else ""
        flags += f" edits={len(self.edits)}" if self.edited else ""
        return (
            f"<SentMessage {self.chat_id}/{self.message_id} {who} {self.kind}{flags} {self.text!r}>"
        )


ChatMessage = SentMessage


@dataclass
class Press:
    """A button press that was queued as a callback_query update."""

    user: FakeUser
    update_id: int
    query_id: str
    data: str | None
    message_id: int | None

    async def answer(self, timeout: float = 5.0) -> CallbackAnswer:  # noqa: ASYNC109
        """Wait for the bot's answerCallbackQuery to this press."""
        return await self.user._wait_answer(self.query_id, timeout)

    def __await__(self) -> Generator[Any, None, CallbackAnswer]:
        """``await press`` is ``await press.answer()`` with the default timeout."""
        return self.answer().__await__()


@dataclass
class Delivery:
    """A message the user sent: its update and message ids."""

    update_id: int
    message_id: int
    message: SentMessage


# --------------------------------------------------------------------------------------------
# The users


class FakeUser:
    """A Telegram user in a private chat with the bot, driven by the test."""

    def __init__(
        self,
        server: BotAPIServer,
        user_id: int,
        *,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        is_premium: bool | None = None,
    ) -> None:
        self.server = server
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.is_premium = is_premium
        self.blocked = False
        self.deactivated = False
        self.started = False  # has the user ever written to the bot?
        self.actions: list[str] = []  # sendChatAction history
        self.answers: list[CallbackAnswer] = []
        self._cursor = 0  # how many bot messages expect() has consumed
        self._presses: list[Press] = []

    @property
    def chat_id(self) -> int:
        return self.id

    def to_api(self) -> JSON:
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code", "is_premium"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data

    def chat(self) -> JSON:
        data: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data

    # Acting ------------------------------------------------------------------------------

    async def send(
        self,
        text: str,
        *,
        entities: list[JSON] | None = None,
        reply_to: SentMessage | int | None = None,
    ) -> Delivery:
        """Type ``text`` and send it; "/command" words get bot_command entities."""
        self._check_can_write()
        if not text:
            raise ValueError("Telegram clients cannot send an empty message")
        if entities is None:
            entities = detect_commands(text)
        version = MessageVersion(text, text, tuple(entities), None, None, int(time.time()))
        reply_id = reply_to.message_id if isinstance(reply_to, SentMessage) else reply_to
        message = self.server._store(
            self.id, self.to_api(), False, "text", version, reply_to=reply_id
        )
        update_id = self.server._queue("message", message.to_api(), self.id)
        await asyncio.sleep(0)
        return Delivery(update_id, message.message_id, message)

    async def send_document(
        self,
        data: bytes,
        file_name: str = "document.bin",
        *,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> Delivery:
        """Send a file as a document."""
        self._check_can_write()
        mime = mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        stored = self.server._new_file("document", data, file_name=file_name, mime_type=mime)
        return await self._send_media("document", stored, caption)

    async def send_photo(self, data: bytes, *, caption: str | None = None) -> Delivery:
        """Send an image as a photo."""
        self._check_can_write()
        size = image_size(data)
        if size is None:
            raise ValueError("send_photo needs PNG, JPEG, GIF or WebP bytes")
        stored = self.server._new_file("photo", data, width=size[0], height=size[1])
        return await self._send_media("photo", stored, caption)

    async def _send_media(self, kind: str, stored: StoredFile, caption: str | None) -> Delivery:
        version = MessageVersion(caption or "", caption or "", (), None, None, int(time.time()))
        message = self.server._store(self.id, self.to_api(), False, kind, version, file=stored)
        update_id = self.server._queue("message", message.to_api(), self.id)
        await asyncio.sleep(0)
        return Delivery(update_id, message.message_id, message)

    async def press(self, message: SentMessage, text: str) -> Press:
        """Press the inline button labelled ``text`` on ``message``."""
        if message.chat_id != self.id:
            raise AssertionError(f"message {message.message_id} is not in {self.first_name}'s chat")
        if message.deleted:
            raise AssertionError(f"message {message.message_id} was deleted; nothing to press")
        button = message.button(text)
        if "callback_data" not in button:
            raise AssertionError(
                f"button {button['text']!r} does not send a callback ({sorted(button)})"
            )
        return await self.press_data(message, button["callback_data"])

    async def press_data(self, message: SentMessage | None, data: str | None) -> Press:
        """Queue a callback query with arbitrary (possibly forged) data.

        With ``message=None`` the query refers to an inaccessible message (date 0), as Telegram
        sends for buttons on messages the bot can no longer see.
        """
        self.started = True
        query_id = self.server._new_query_id()
        payload: JSON = {
            "id": query_id,
            "from": self.to_api(),
            "chat_instance": str(abs(hash(("chat", self.id, self.server.bot_id))) % 10**18),
        }
        message_id: int | None = None
        if message is not None:
            payload["message"] = message.to_api()
            message_id = message.message_id
        else:
            payload["message"] = {"chat": self.chat(), "message_id": 1, "date": 0}
        if data is not None:
            payload["data"] = data
        self.server._queries[query_id] = _Query(query_id, self.id, data, self.server.clock())
        update_id = self.server._queue("callback_query", payload, self.id)
        press = Press(self, update_id, query_id, data, message_id)
        self._presses.append(press)
        await asyncio.sleep(0)
        return press

    def block(self, *, notify: bool = True) -> None:
        """The user blocks the bot: sends fail with 403; the bot gets a my_chat_member update."""
        if not self.blocked and notify and self.started:
            self.server._queue_member_change(self, "member", "kicked")
        self.blocked = True

    def unblock(self, *, notify: bool = True) -> None:
        if self.blocked and notify and self.started:
            self.server._queue_member_change(self, "kicked", "member")
        self.blocked = False

    def deactivate(self) -> None:
        """The account is deleted: sends fail with 403 "user is deactivated"."""
        self.deactivated = True

    def _check_can_write(self) -> None:
        if self.blocked:
            raise AssertionError(f"{self.first_name} has blocked the bot; unblock() first")
        if self.deactivated:
            raise AssertionError(f"{self.first_name}'s account is deactivated")
        self.started = True

    # Observing ---------------------------------------------------------------------------

    @property
    def inbox(self) -> list[SentMessage]:
        """Every message the bot sent to this chat, in order (deleted ones included)."""
        return [m for m in self.server.chat_messages(self.id) if m.from_bot]

    @property
    def pending(self) -> list[SentMessage]:
        """Bot messages that expect() has not consumed yet."""
        return self.inbox[self._cursor :]

    @property
    def last_message(self) -> SentMessage | None:
        inbox = self.inbox
        return inbox[-1] if inbox else None

    async def expect(
        self,
        contains: Expected = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - an assertion deadline, not a cancel scope
        regex: str | None = None,
        predicate: Callable[[SentMessage], bool] | None = None,
    ) -> SentMessage:
        """The next bot message to this user that the test has not consumed yet.

        It must contain ``contains`` (a string, or every string of a list) in its visible text,
        match ``regex`` and satisfy ``predicate`` (which may also be given as first argument);
        otherwise, or on timeout, AssertionError.
        """
        contains, predicate = _split_expected(contains, predicate)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            inbox = self.inbox
            if self._cursor < len(inbox):
                message = inbox[self._cursor]
                self._cursor += 1
                problems = [
                    f"does not contain {m!r}" for m in _contains_all(message.text, contains)
                ]
                if regex is not None and not re.search(regex, message.text):
                    problems.append(f"does not match /{regex}/")
                if predicate is not None and not predicate(message):
                    problems.append("fails the predicate")
                if problems:
                    raise AssertionError(
                        f"next message to {self.first_name} ({self.id}) "
                        f"{', '.join(problems)}:\n  {message.text!r}\n"
                        f"transcript:\n{self.transcript()}" + self.server._failures_note(self.id)
                    )
                return message
            remaining = deadline - loop.time()
            if remaining <= 0:
                wanted = f" containing {contains!r}" if contains is not None else ""
                raise AssertionError(
                    f"{self.first_name} ({self.id}) got no new message{wanted} within "
                    f"{timeout}s.\ntranscript:\n{self.transcript()}"
                    + self.server._failures_note(self.id)
                )
            await self.server._changed.wait(remaining)

    async def expect_many(
        self,
        count: int,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - an assertion deadline, not a cancel scope
    ) -> list[SentMessage]:
        """The next ``count`` bot messages, waiting up to ``timeout`` for all of them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        return [await self.expect(timeout=max(0.0, deadline - loop.time())) for _ in range(count)]

    async def expect_unordered(
        self,
        *expected: Expected,
        timeout: float = 5.0,  # noqa: ASYNC109 - an assertion deadline, not a cancel scope
    ) -> list[SentMessage]:
        """The next ``len(expected)`` bot messages in any order (for messages the bot sends
        concurrently); each expectation must match a different message. Returns the messages
        in the order of ``expected``."""
        messages = await self.expect_many(len(expected), timeout=timeout)
        checks = [_split_expected(item, None) for item in expected]

        def fits(check: tuple[Any, Any], message: SentMessage) -> bool:
            contains, predicate = check
            return not _contains_all(message.text, contains) and (
                predicate is None or predicate(message)
            )

        def assign(index: int, free: list[SentMessage]) -> list[SentMessage] | None:
            if index == len(checks):
                return []
            for message in free:
                if fits(checks[index], message):
                    rest = assign(index + 1, [m for m in free if m is not message])
                    if rest is not None:
                        return [message, *rest]
            return None

        matched = assign(0, messages)
        if matched is None:
            raise AssertionError(
                f"the next {len(expected)} messages to {self.first_name} do not match "
                f"{list(expected)!r} in any order:\n" + "\n".join(f"  {m.text!r}" for m in messages)
            )
        return matched

    async def expect_nothing(self, within: float = 0.5) -> None:
        """Assert that the bot sends nothing new to this user for ``within`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            if self.pending:
                raise AssertionError(
                    f"{self.first_name} expected no message but got {self.pending[0].text!r}"
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await self.server._changed.wait(remaining)

    def skip(self) -> None:
        """Mark every bot message so far as consumed."""
        self._cursor = len(self.inbox)

    async def last_answer(self, timeout: float = 5.0) -> CallbackAnswer:  # noqa: ASYNC109
        """The bot's answer to this user's most recent button press."""
        if not self._presses:
            raise AssertionError(f"{self.first_name} has not pressed any button")
        return await self._wait_answer(self._presses[-1].query_id, timeout)

    async def _wait_answer(self, query_id: str, seconds: float) -> CallbackAnswer:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            query = self.server._queries.get(query_id)
            if query is not None and query.answer is not None:
                return query.answer
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"the bot did not answer callback query {query_id} of {self.first_name} "
                    f"within {seconds}s" + self.server._failures_note(None, "answerCallbackQuery")
                )
            await self.server._changed.wait(remaining)

    def commands(self) -> list[tuple[str, str]]:
        """The command menu this user would see (Telegram's scope/language resolution)."""
        return self.server.visible_commands(self.id, self.language_code)

    def transcript(self, last: int = 12) -> str:
        """The end of the conversation, one line per message, for failure messages."""
        lines = []
        for message in self.server.chat_messages(self.id)[-last:]:
            who = "bot" if message.from_bot else self.first_name
            kind = "" if message.kind == "text" else f"[{message.kind}] "
            extra = ""
            if message.buttons:
                extra = " " + " ".join(f"[{b.text}]" for row in message.buttons for b in row)
            if message.edited:
                extra += f" (edited {len(message.edits)}x)"
            if message.deleted:
                extra += " (deleted)"
            lines.append(f"  {message.message_id:>4} {who}: {kind}{message.text!r}{extra}")
        return "\n".join(lines) or "  (empty)"

    def __repr__(self) -> str:
        return f"<FakeUser {self.id} {self.first_name!r}>"


# --------------------------------------------------------------------------------------------
# The server


class BotAPIServer:
    """An in-process fake of api.telegram.org for one bot.

    Use ``await server.start()`` (or ``async with``) and point PTB at ``server.base_url`` and
    ``server.base_file_url``. Only binds to loopback addresses.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        flood: bool = False,
        limits: FloodLimits | None = None,
        bot_name: str = "Test Bot",
        bot_username: str = "test_bot",
        callback_timeout: float = 15.0,
        strict_html: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        first_update_id: int = 1,
        clock: Callable[[], float] = time.monotonic,
        rtt: float = 0.0,
    ) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError("the fake Bot API server only listens on loopback addresses")
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_name = bot_name
        self.bot_username = bot_username
        self.flood = flood
        self.limits = limits or FloodLimits()
        self.callback_timeout = callback_timeout
        self.strict_html = strict_html
        self.host = host
        self.port = port
        self.clock = clock
        # Seconds added to every Bot API request as a network would: half on the way in
        # (flood control counts the request when it arrives), half on the way back.
        self.rtt = rtt
        self.url = ""

        self._users: dict[int, FakeUser] = {}
        self._chats: dict[int, list[SentMessage]] = {}
        self._next_message_id: dict[int, int] = {}
        self._update_ids = itertools.count(first_update_id)
        self._pending: dict[int, _Update] = {}  # queued until an offset confirms them
        self._history: dict[int, _Update] = {}
        self._delivered_max = 0
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._poll_terminator = ""
        self._queries: dict[str, _Query] = {}
        self._query_ids = itertools.count(int.from_bytes(secrets.token_bytes(4)) * 10**9)
        self._files: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._commands: dict[tuple[str, int | None, int | None, str], list[JSON]] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._menu_buttons: dict[int | None, JSON] = {}
        self._webhook: JSON | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._faults: list[_Fault] = []
        self._forced_429: tuple[int, int] = (0, 1)
        self._gate = FloodGate(self.limits, clock)

        self.calls: Counter[str] = Counter()  # every request per method, failed ones included
        self.errors: Counter[tuple[str, int]] = Counter()  # (method, error_code)
        self.requests: deque[ApiCall] = deque(maxlen=20000)
        self.sent_count = 0  # messages successfully sent (sendMessage/Photo/Document)
        self.edit_count = 0
        self.rejected_429 = 0
        # Every call answered with an error, kept whole (``requests`` is bounded), and the
        # rejections a test provokes on purpose: see unexpected_rejections().
        self.rejected: list[ApiCall] = []
        self._expected_rejections: list[tuple[int | None, str]] = []

        self._changed = _Changed()
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

        self._methods: dict[str, tuple[str, Callable[[Params], Any]]] = {}
        for name, handler in (
            ("getMe", self._get_me),
            ("logOut", self._ok_true),
            ("close", self._ok_true),
            ("getUpdates", self._get_updates),
            ("setWebhook", self._set_webhook),
            ("deleteWebhook", self._delete_webhook),
            ("getWebhookInfo", self._get_webhook_info),
            ("sendMessage", self._send_message),
            ("sendPhoto", self._send_photo),
            ("sendDocument", self._send_document),
            ("sendChatAction", self._send_chat_action),
            ("editMessageText", self._edit_message_text),
            ("editMessageCaption", self._edit_message_caption),
            ("editMessageReplyMarkup", self._edit_message_reply_markup),
            ("deleteMessage", self._delete_message),
            ("deleteMessages", self._delete_messages),
            ("answerCallbackQuery", self._answer_callback_query),
            ("getFile", self._get_file),
            ("getChat", self._get_chat),
            ("setMyCommands", self._set_my_commands),
            ("getMyCommands", self._get_my_commands),
            ("deleteMyCommands", self._delete_my_commands),
            ("setMyDescription", self._setter("description", 512)),
            ("getMyDescription", self._getter("description")),
            ("setMyShortDescription", self._setter("short_description", 120)),
            ("getMyShortDescription", self._getter("short_description")),
            ("setMyName", self._setter("name", 64)),
            ("getMyName", self._getter("name")),
            ("setChatMenuButton", self._set_chat_menu_button),
            ("getChatMenuButton", self._get_chat_menu_button),
        ):
            self._methods[name.lower()] = (name, handler)

    # Lifecycle ---------------------------------------------------------------------------

    async def start(self) -> BotAPIServer:
        app = web.Application(
            client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024, middlewares=[self._round_trip]
        )
        app.router.add_route("*", "/_control/{action}", self._handle_control)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_api)
        # A short shutdown timeout: long polls are woken by stop() and need no grace period.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        address = self._runner.addresses[0]
        self.port = int(address[1])
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{self.port}"
        return self

    @web.middleware
    async def _round_trip(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.rtt <= 0 or request.path.startswith("/_control/"):
            return await handler(request)
        await asyncio.sleep(self.rtt / 2)
        response = await handler(request)
        await asyncio.sleep(self.rtt / 2)
        return response

    async def stop(self) -> None:
        self._closing = True
        self._changed.fire()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotAPIServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """For ApplicationBuilder().base_url(...)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ApplicationBuilder().base_file_url(...)."""
        return f"{self.url}/file/bot"

    @property
    def bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
        }

    def bot(self, **kwargs: Any) -> Any:
        """A telegram.Bot pointed at this server (PTB is imported lazily)."""
        from telegram import Bot

        return Bot(self.token, base_url=self.base_url, base_file_url=self.base_file_url, **kwargs)

    @contextlib.asynccontextmanager
    async def polling(
        self, application: Any, *, poll_timeout: int = 1, **polling_kwargs: Any
    ) -> AsyncIterator[Any]:
        """Run a PTB Application with long polling for the duration of the block.

        Initialises, starts and polls (``poll_timeout`` is the long-poll timeout: short, so
        stopping is quick), then stops the updater and the application in the right order.
        """
        async with application:
            await application.start()
            await application.updater.start_polling(timeout=poll_timeout, **polling_kwargs)
            try:
                yield application
            finally:
                if application.updater.running:
                    await application.updater.stop()
                if application.running:
                    await application.stop()

    def application_builder(self) -> Any:
        """telegram.ext.ApplicationBuilder with token and URLs already set."""
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder()
            .token(self.token)
            .base_url(self.base_url)
            .base_file_url(self.base_file_url)
        )

    # Test-side API: users, chats, updates ------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        is_premium: bool | None = None,
        started: bool = False,
        blocked: bool = False,
    ) -> FakeUser:
        """The user with this id, created on first use (later calls may update fields)."""
        if user_id == self.bot_id or user_id <= 0:
            raise ValueError("user ids are positive and differ from the bot's id")
        user = self._users.get(user_id)
        if user is None:
            user = FakeUser(
                self,
                user_id,
                first_name=first_name or f"User{user_id}",
                last_name=last_name,
                username=username,
                language_code=language_code,
                is_premium=is_premium,
            )
            self._users[user_id] = user
            self._chats[user_id] = []
        else:
            for key, value in (
                ("first_name", first_name),
                ("last_name", last_name),
                ("username", username),
                ("language_code", language_code),
                ("is_premium", is_premium),
            ):
                if value is not None:
                    setattr(user, key, value)
        user.started = user.started or started
        user.blocked = user.blocked or blocked
        return user

    @property
    def users(self) -> dict[int, FakeUser]:
        return dict(self._users)

    def chat_messages(self, chat_id: int) -> list[SentMessage]:
        """Every message in the private chat, from both sides, in order."""
        return list(self._chats.get(chat_id, []))

    def message(self, chat_id: int, message_id: int) -> SentMessage | None:
        return self._message(chat_id, message_id)

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by an offset."""
        return [update.to_api() for update in self._pending.values()]

    def redeliver(self, update_id: int, *, same_id: bool = False) -> int:
        """Queue an earlier update again.

        By default it gets a new update_id (a duplicate the bot cannot tell by id). With
        ``same_id=True`` it keeps its id, as Telegram redelivers an update whose confirmation
        never arrived; a polling bot only sees it after a restart (offset reset to 0).
        """
        original = self._history[update_id]
        if same_id:
            self._pending[update_id] = original
            self._pending = dict(sorted(self._pending.items()))
            self._delivered_max = min(self._delivered_max, update_id - 1)
            self._touch()
            return update_id
        return self._queue(original.kind, original.payload, original.user_id)

    def duplicate_last_update(self, user: FakeUser | int) -> int:
        """Queue the user's last update again with a new update_id."""
        user_id = user.id if isinstance(user, FakeUser) else user
        for update_id in sorted(self._history, reverse=True):
            if self._history[update_id].user_id == user_id:
                return self.redeliver(update_id)
        raise AssertionError(f"no update from user {user_id} yet")

    def queue_update(self, update: JSON, user_id: int | None = None) -> int:
        """Queue an arbitrary update object (without update_id); returns the new update_id."""
        ((kind, payload),) = [(k, v) for k, v in update.items() if k != "update_id"]
        return self._queue(kind, payload, user_id)

    # Test-side API: faults, flood, commands, stats ---------------------------------------

    def fail_next(
        self,
        method: str,
        count: int = 1,
        error_code: int = 500,
        description: str | None = None,
        *,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` ("*" for any) fail with this error."""
        if error_code == 429:
            error = too_many_requests(retry_after or 1)
            if description:
                error.description = description
        else:
            default = {
                400: "Bad Request",
                401: "Unauthorized",
                403: "Forbidden",
                404: "Not Found",
                409: "Conflict",
                500: "Internal Server Error",
                502: "Bad Gateway",
            }.get(error_code, "Error")
            error = ApiError(error_code, description or default)
        self._faults.append(_Fault(self._canonical(method), count, error))

    def delay_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Make the next ``count`` calls of ``method`` answer only after ``seconds``."""
        self._faults.append(_Fault(self._canonical(method), count, None, seconds))

    def force_429(self, count: int, retry_after: int = 1) -> None:
        """The next ``count`` flood-limited calls (sends and edits) fail with 429."""
        self._forced_429 = (count, max(1, retry_after))

    def set_flood(self, on: bool, limits: FloodLimits | None = None) -> None:
        self.flood = on
        if limits is not None:
            self.limits = limits
        self._gate = FloodGate(self.limits, self.clock)

    def commands(
        self,
        scope: str | JSON = "default",
        language_code: str = "",
        *,
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> list[tuple[str, str]]:
        """What setMyCommands stored for exactly this scope and language."""
        if isinstance(scope, dict):
            key = self._scope_key(scope)
        else:
            key = (scope, chat_id, user_id)
        return [
            (c["command"], c["description"]) for c in self._commands.get((*key, language_code), [])
        ]

    def visible_commands(self, chat_id: int, language_code: str | None) -> list[tuple[str, str]]:
        """The menu a private chat shows: chat scope, all private chats, then default."""
        language = (language_code or "")[:2]
        for key in (
            ("chat", chat_id, None),
            ("all_private_chats", None, None),
            ("default", None, None),
        ):
            for lang in (language, ""):
                stored = self._commands.get((*key, lang))
                if stored:
                    return [(c["command"], c["description"]) for c in stored]
        return []

    @property
    def webhook(self) -> JSON | None:
        return dict(self._webhook) if self._webhook else None

    def answers(self, user_id: int | None = None) -> list[CallbackAnswer]:
        return [
            q.answer
            for q in self._queries.values()
            if q.answer is not None and (user_id is None or q.user_id == user_id)
        ]

    def file(self, file_id: str) -> StoredFile | None:
        return self._files.get(file_id)

    def stats(self) -> JSON:
        return {
            "sent": self.sent_count,
            "edits": self.edit_count,
            "rejected_429": self.rejected_429,
            "per_method": dict(self.calls),
            "errors": {f"{m}:{c}": n for (m, c), n in self.errors.items()},
            "pending_updates": len(self._pending),
            "users": len(self._users),
            "flood": self.flood,
        }

    def reset_stats(self) -> None:
        self.calls.clear()
        self.errors.clear()
        self.requests.clear()
        self.sent_count = self.edit_count = self.rejected_429 = 0

    def expect_rejections(self, code: int | None = None, containing: str = "") -> None:
        """Declare rejections this test provokes on purpose (flood control, users who
        blocked the bot, presses answered too late): calls answered with ``code`` (any, if
        None) whose description contains ``containing`` (case-insensitive)."""
        self._expected_rejections.append((code, containing.lower()))

    def unexpected_rejections(self) -> list[ApiCall]:
        """Calls Telegram would have rejected that no test provoked: each is a bug of the
        bot (an edit that changes nothing, HTML that does not parse, a second answer to a
        button...). Faults injected with fail_next() or force_429() are provoked."""
        return [
            call
            for call in self.rejected
            if not call.injected
            and not any(
                (code is None or call.status == code)
                and containing in (call.description or "").lower()
                for code, containing in self._expected_rejections
            )
        ]

    def calls_to(self, method: str) -> list[ApiCall]:
        name = self._canonical(method)
        return [call for call in self.requests if call.method == name]

    async def wait_idle(
        self,
        quiet: float = 0.15,
        timeout: float = 10.0,  # noqa: ASYNC109 - an assertion deadline, not a cancel scope
    ) -> None:
        """Wait until every update was fetched, no request is in flight and nothing happened
        for ``quiet`` seconds. A heuristic: a handler that works silently longer than
        ``quiet`` is not waited for."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            undelivered = [u for u in self._pending if u > self._delivered_max]
            idle = not undelivered and self._inflight == 0
            if idle and now - self._last_activity >= quiet:
                return
            if now >= deadline:
                raise AssertionError(
                    f"server not idle after {timeout}s: {len(undelivered)} update(s) not "
                    f"fetched, {self._inflight} request(s) in flight"
                )
            await self._changed.wait(min(quiet / 3, deadline - now))

    async def wait_change(self, timeout: float) -> None:  # noqa: ASYNC109
        """Return at the next observable change (a message, an edit, any request), or after
        ``timeout`` seconds: how an observer such as the rehearsal page follows the chats."""
        await self._changed.wait(timeout)

    # Internals: storage -------------------------------------------------------------------

    def _canonical(self, method: str) -> str:
        if method == "*":
            return method
        entry = self._methods.get(method.lower())
        return entry[0] if entry else method

    def _touch(self) -> None:
        self._last_activity = time.monotonic()
        self._changed.fire()

    def _queue(self, kind: str, payload: JSON, user_id: int | None) -> int:
        update = _Update(next(self._update_ids), kind, payload, user_id)
        self._history[update.update_id] = update
        if not self._wanted(kind):
            # Telegram applies allowed_updates when an update is created: it never exists.
            return update.update_id
        self._pending[update.update_id] = update
        self._touch()
        self._kick_webhook()
        return update.update_id

    def _queue_member_change(self, user: FakeUser, old: str, new: str) -> None:
        new_member: JSON = {"status": new, "user": self.bot_user}
        if new == "kicked":
            new_member["until_date"] = 0
        old_member: JSON = {"status": old, "user": self.bot_user}
        if old == "kicked":
            old_member["until_date"] = 0
        payload = {
            "chat": user.chat(),
            "from": user.to_api(),
            "date": int(time.time()),
            "old_chat_member": old_member,
            "new_chat_member": new_member,
        }
        self._queue("my_chat_member", payload, user.id)

    def _store(
        self,
        chat_id: int,
        sender: JSON,
        from_bot: bool,
        kind: str,
        version: MessageVersion,
        *,
        file: StoredFile | None = None,
        reply_to: int | None = None,
    ) -> SentMessage:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        message = SentMessage(
            self,
            chat_id=chat_id,
            message_id=message_id,
            sender=sender,
            from_bot=from_bot,
            kind=kind,
            version=version,
            file=file,
            reply_to=reply_to,
        )
        self._chats.setdefault(chat_id, []).append(message)
        self._touch()
        return message

    def _message(self, chat_id: int, message_id: int) -> SentMessage | None:
        messages = self._chats.get(chat_id, [])
        # Ids are dense per chat, so the index is a good first guess.
        if 0 < message_id <= len(messages) and messages[message_id - 1].message_id == message_id:
            return messages[message_id - 1]
        return next((m for m in messages if m.message_id == message_id), None)

    def _chat_dict(self, chat_id: int) -> JSON:
        user = self._users.get(chat_id)
        return user.chat() if user else {"id": chat_id, "type": "private"}

    def _new_query_id(self) -> str:
        return str(next(self._query_ids))

    def _new_file(self, kind: str, data: bytes | None, **fields: Any) -> StoredFile:
        number = next(self._file_counter)
        token = secrets.token_urlsafe(12)
        prefix = "AgAC" if kind == "photo" else "BQAC"
        stored = StoredFile(
            file_id=f"{prefix}{number:06d}{token}",
            file_unique_id=f"AQAD{number:06d}",
            kind=kind,
            data=data,
            **fields,
        )
        extension = ".jpg" if kind == "photo" else ""
        if kind == "document" and stored.file_name and "." in stored.file_name:
            extension = "." + stored.file_name.rsplit(".", 1)[1]
        stored.file_path = f"{kind}s/file_{number}{extension}"
        self._files[stored.file_id] = stored
        return stored

    def _photo_sizes(self, stored: StoredFile) -> list[JSON]:
        """Telegram's ladder of downscaled copies; the last one is the original."""
        width, height = stored.width or 512, stored.height or 512
        sizes: list[JSON] = []
        for limit, suffix in ((90, "s"), (320, "m"), (800, "x"), (1280, "y"), (2560, "w")):
            scale = min(1.0, limit / max(width, height))
            last = scale == 1.0 or limit == 2560
            file_id = stored.file_id if last else f"{stored.file_id}_{suffix}"
            if not last:
                self._files.setdefault(file_id, stored)
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": f"{stored.file_unique_id}{suffix}",
                    "width": max(1, round(width * scale)),
                    "height": max(1, round(height * scale)),
                    "file_size": max(1, int(stored.size * scale * scale)),
                }
            )
            if last:
                break
        return sizes

    def _failures_note(self, chat_id: int | None, method: str | None = None) -> str:
        """Recent failed requests for this chat: usually why an expected message never came."""
        failed = [
            call
            for call in self.requests
            if call.status != 200
            and (chat_id is None or call.params.get("chat_id") == str(chat_id))
            and (method is None or call.method == method)
        ][-5:]
        if not failed:
            return ""
        lines = [f"  {c.method} -> {c.status} {c.description}" for c in failed]
        return "\nrecent failed Bot API calls:\n" + "\n".join(lines)

    # Internals: HTTP ------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        path = request.match_info["tail"]
        match = re.fullmatch(r"bot([^/]*)/([A-Za-z0-9_]+)", path)
        if match is None:
            return self._reply(ApiError(404, "Not Found").payload(), 404)
        token, method = match.groups()
        if token != self.token:
            # Telegram: a well-formed but wrong token is 401, anything else is 404.
            if ":" in token:
                return self._reply(ApiError(401, "Unauthorized").payload(), 401)
            return self._reply(ApiError(404, "Not Found").payload(), 404)
        entry = self._methods.get(method.lower())
        if entry is None:
            log.warning("fake Bot API: method %s is not emulated", method)
            self.calls[method] += 1
            return self._reply(ApiError(404, "Not Found").payload(), 404)
        name, handler = entry
        self.calls[name] += 1
        long_poll = name == "getUpdates"
        if not long_poll:
            self._inflight += 1
        params = Params({}, {})
        try:
            params = await read_params(request)
            await self._apply_faults(name)
            result = await handler(params)
            body: JSON = {"ok": True, "result": result}
            if isinstance(result, _Described):
                body = {"ok": True, "result": result.result, "description": result.description}
            self._log(name, params, 200, None)
            return self._reply(body, 200)
        except _Abandoned:
            # Nobody is listening: not an error of the bot, and nothing was delivered.
            self._log(name, params, 499, "client closed the request")
            return web.Response(status=499)
        except ApiError as error:
            self.errors[(name, error.code)] += 1
            if error.code == 429:
                self.rejected_429 += 1
            call = self._log(name, params, error.code, error.description)
            call.injected = error.injected
            self.rejected.append(call)
            return self._reply(error.payload(), error.code)
        finally:
            if long_poll:
                # Idle polling is not activity, but a poll that delivered something is.
                self._changed.fire()
            else:
                self._inflight -= 1
                self._touch()

    def _log(self, method: str, params: Params, status: int, description: str | None) -> ApiCall:
        call = ApiCall(method, params.public(), status, description, time.time())
        self.requests.append(call)
        return call

    @staticmethod
    def _reply(body: JSON, status: int) -> web.Response:
        return web.json_response(
            body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False)
        )

    async def _apply_faults(self, name: str) -> None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.method in (name, "*"):
                fault.remaining -= 1
                self._faults = [f for f in self._faults if f.remaining > 0]
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.error is not None:
                    error = ApiError(
                        fault.error.code, fault.error.description, fault.error.parameters
                    )
                    error.injected = True
                    raise error
                break
        if name in FLOOD_METHODS and self._forced_429[0] > 0:
            remaining, retry_after = self._forced_429
            self._forced_429 = (remaining - 1, retry_after)
            error = too_many_requests(retry_after)
            error.injected = True
            raise error

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=404, text="Not Found")
        path = request.match_info["path"]
        for stored in self._files.values():
            if stored.file_path == path and stored.data is not None:
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")

    # Internals: chat checks, formatting ---------------------------------------------------

    def _target_user(self, params: Params, *, sending: bool = True) -> FakeUser:
        raw = params.text("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(raw)
        except ValueError:
            raise bad_request("chat not found") from None  # "@username" of a private user
        if chat_id == self.bot_id:
            raise forbidden("bot can't send messages to bots")
        user = self._users.get(chat_id)
        if user is None:
            raise bad_request("chat not found")
        if sending:
            if user.deactivated:
                raise forbidden("user is deactivated")
            if user.blocked:
                raise forbidden("bot was blocked by the user")
            if not user.started:
                raise forbidden("bot can't initiate conversation with a user")
        return user

    def _format(
        self, raw: str | None, params: Params, *, caption: bool, prefix: str = ""
    ) -> tuple[str, str, tuple[JSON, ...], str | None]:
        """Parse text or caption; returns (visible, raw, entities, parse_mode)."""
        raw = (raw or "").replace("\r", "")
        parse_mode = params.text(f"{prefix}parse_mode") or None
        explicit = params.json(f"{prefix}entities", "can't parse entities JSON object")
        if explicit is not None:
            if not isinstance(explicit, list):
                raise bad_request("can't parse entities JSON object")
            text, entities = raw, [dict(e) for e in explicit if isinstance(e, dict)]
            total = utf16_len(text)
            for entity in entities:
                offset, length = entity.get("offset"), entity.get("length")
                if not isinstance(offset, int) or not isinstance(length, int) or offset < 0:
                    raise bad_request("can't parse entities: wrong entity offset or length")
                if offset + length > total:
                    raise bad_request("entity end is out of bounds")  # approximate wording
            parse_mode = None
        elif parse_mode is None:
            text, entities = raw, []
        else:
            mode = parse_mode.lower()
            try:
                if mode == "html":
                    users = {uid: u.to_api() for uid, u in self._users.items()}
                    text, entities = parse_html(raw, strict=self.strict_html, users=users)
                elif mode == "markdownv2":
                    text, entities = parse_markdown_v2(raw)
                elif mode == "markdown":
                    text, entities = parse_markdown(raw)
                else:
                    raise bad_request("unsupported parse_mode")
            except EntityParseError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        text, entities = _trim(text, entities)
        limit = MAX_CAPTION if caption else MAX_TEXT
        if utf16_len(text) > limit:
            raise bad_request("message caption is too long" if caption else "message is too long")
        if not caption and not text:
            raise bad_request("message text is empty")
        return text, raw, tuple(entities), parse_mode

    def _reply_target(self, user: FakeUser, params: Params) -> int | None:
        reply = params.json("reply_parameters", "can't parse reply parameters JSON object")
        allow_missing = params.flag("allow_sending_without_reply")
        message_id = params.integer("reply_to_message_id")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply"))
            if reply.get("chat_id") not in (None, user.id, str(user.id)):
                raise bad_request("message to be replied not found")
        if not message_id:
            return None
        replied = self._message(user.id, int(message_id))
        if replied is None or replied.deleted:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        return int(message_id)

    def _admit(self, chat_id: int) -> None:
        if self.flood:
            self._gate.admit(chat_id)

    def _editable(self, params: Params) -> tuple[FakeUser, SentMessage]:
        if params.text("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")  # inline messages are not emulated
        if not params.text("chat_id") or not params.text("message_id"):
            raise bad_request("message identifier is not specified")
        user = self._target_user(params)
        message = self._message(user.id, params.integer("message_id") or 0)
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return user, message

    def _apply_edit(self, user: FakeUser, message: SentMessage, version: MessageVersion) -> JSON:
        if version.reply_markup is not None and "inline_keyboard" not in version.reply_markup:
            raise bad_request("inline keyboard expected")
        current = message.current
        current_markup = current.reply_markup
        if current_markup is not None and "inline_keyboard" not in current_markup:
            current_markup = None  # a reply keyboard is not part of the message
        if (
            version.text == current.text
            and version.entities == current.entities
            and version.reply_markup == current_markup
        ):
            raise bad_request(NOT_MODIFIED)
        self._admit(user.id)
        message.versions.append(version)
        self.edit_count += 1
        self._touch()
        return message.to_api()

    # Bot API methods -----------------------------------------------------------------------

    async def _ok_true(self, params: Params) -> bool:
        return True

    async def _get_me(self, params: Params) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: Params) -> list[JSON]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.integer("offset", 0) or 0
        limit = min(100, max(1, params.integer("limit", 100) or 100))
        timeout = max(0.0, min(params.number("timeout", 0.0), 50.0))
        allowed = params.json("allowed_updates", "can't parse allowed updates JSON array")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise bad_request("can't parse allowed updates JSON array")
            self._allowed_updates = frozenset(map(str, allowed)) or None
        # Confirm: everything below offset is forgotten; a negative offset keeps the last -N.
        if offset > 0:
            for update_id in [u for u in self._pending if u < offset]:
                del self._pending[update_id]
        elif offset < 0:
            for update_id in sorted(self._pending)[:offset]:
                del self._pending[update_id]
        # A newer getUpdates terminates an older one that is still waiting, like Telegram.
        self._poll_generation += 1
        self._poll_terminator = (
            "Conflict: terminated by other getUpdates request; "
            "make sure that only one bot instance is running"
        )
        generation = self._poll_generation
        self._changed.fire()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if params.client_gone():
                raise _Abandoned
            batch = self._deliverable(limit)
            if batch:
                self._last_activity = time.monotonic()
                return batch
            if self._closing:
                return []
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self._changed.wait(remaining)
            if params.client_gone():
                raise _Abandoned
            if generation != self._poll_generation:
                raise ApiError(409, self._poll_terminator)

    def _deliverable(self, limit: int) -> list[JSON]:
        batch: list[JSON] = []
        # The dict is kept in update_id order (see redeliver), so no sorting per poll.
        for update_id, update in self._pending.items():
            batch.append(update.to_api())
            self._delivered_max = max(self._delivered_max, update_id)
            if len(batch) >= limit:
                break
        return batch

    def _wanted(self, kind: str) -> bool:
        if self._allowed_updates is None:
            return kind not in DEFAULT_EXCLUDED_UPDATES
        return kind in self._allowed_updates

    async def _set_webhook(self, params: Params) -> _Described:
        url = params.text("url") or ""
        if not url:
            return await self._delete_webhook(params)
        parts = urlsplit(url)
        loopback = parts.hostname in LOOPBACK_HOSTS
        # Telegram insists on HTTPS; plain HTTP is allowed here only for a local test receiver.
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if not loopback and (parts.port or 443) not in (80, 88, 443, 8443):
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = params.text("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = params.json("allowed_updates", "can't parse allowed updates JSON array")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(map(str, allowed)) or None
        if params.flag("drop_pending_updates"):
            self._pending.clear()
        self._webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": params.integer("max_connections", 40),
            "ip_address": params.text("ip_address"),
            "drop_pending_updates": params.flag("drop_pending_updates"),
        }
        self._webhook_error = None
        # A waiting getUpdates is terminated with 409.
        self._poll_generation += 1
        self._poll_terminator = "Conflict: terminated by setWebhook request"
        self._changed.fire()
        self._kick_webhook()
        return _Described(True, "Webhook was set")

    async def _delete_webhook(self, params: Params) -> _Described:
        if params.flag("drop_pending_updates"):
            self._pending.clear()
        existed = self._webhook is not None
        self._webhook = None
        self._webhook_error = None
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None
        return _Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    async def _get_webhook_info(self, params: Params) -> JSON:
        info: JSON = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook:
            info["max_connections"] = self._webhook["max_connections"]
            if self._webhook["ip_address"]:
                info["ip_address"] = self._webhook["ip_address"]
            if self._allowed_updates:
                info["allowed_updates"] = sorted(self._allowed_updates)
        if self._webhook_error:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    def _kick_webhook(self) -> None:
        hook = self._webhook
        if hook is None or self._closing or urlsplit(hook["url"]).hostname not in LOOPBACK_HOSTS:
            return  # never send traffic anywhere but this machine
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._deliver_webhook())

    async def _deliver_webhook(self) -> None:
        """POST pending updates one by one to a loopback webhook, retrying failures."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        backoff = 0.1
        while self._webhook is not None and self._pending and not self._closing:
            hook = self._webhook
            update_id = min(self._pending)
            update = self._pending[update_id]
            headers = {}
            if hook["secret_token"]:
                headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
            try:
                async with self._session.post(
                    hook["url"], json=update.to_api(), headers=headers
                ) as response:
                    ok = 200 <= response.status < 300
                    error = f"Wrong response from the webhook: {response.status} {response.reason}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                ok, error = False, f"Connection failed: {exc.__class__.__name__}"
            if ok:
                self._pending.pop(update_id, None)
                self._delivered_max = max(self._delivered_max, update_id)
                backoff = 0.1
                self._touch()
            else:
                self._webhook_error = (int(time.time()), error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    async def _send_message(self, params: Params) -> JSON:
        user = self._target_user(params)
        text, raw, entities, parse_mode = self._format(params.text("text"), params, caption=False)
        markup = parse_reply_markup(params)
        reply_to = self._reply_target(user, params)
        self._admit(user.id)
        version = MessageVersion(text, raw, entities, markup, parse_mode, int(time.time()))
        message = self._store(user.id, self.bot_user, True, "text", version, reply_to=reply_to)
        self.sent_count += 1
        return message.to_api()

    def _input_file(self, params: Params, field_name: str, kind: str) -> StoredFile:
        upload = params.files.get(field_name)
        reference = params.text(field_name)
        if upload is None and reference and reference.startswith("attach://"):
            upload = params.files.get(reference[len("attach://") :])
            if upload is None:
                raise bad_request(f"there is no {field_name} in the request")
        if upload is not None:
            data = upload.data
            if not data:
                raise bad_request("file must be non-empty")
            if kind == "photo":
                if len(data) > MAX_PHOTO_BYTES:
                    raise bad_request("PHOTO_SAVE_FILE_INVALID")
                size = image_size(data)
                if size is None:
                    raise bad_request("IMAGE_PROCESS_FAILED")
                width, height = size
                if width + height > 10000 or max(width, height) > 20 * min(width, height):
                    raise bad_request("PHOTO_INVALID_DIMENSIONS")
                return self._new_file("photo", data, width=width, height=height)
            if len(data) > MAX_UPLOAD_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            name = upload.filename or "file"
            mime = (
                upload.content_type
                if upload.content_type and upload.content_type != "application/octet-stream"
                else mimetypes.guess_type(name)[0]
            ) or "application/octet-stream"
            return self._new_file("document", data, file_name=name, mime_type=mime)
        if not reference:
            raise bad_request(f"there is no {field_name} in the request")
        if re.match(r"^https?://", reference):
            # Telegram would download it; we may not, so the file has no bytes.
            return self._new_file(kind, None, url=reference, file_name=reference.rsplit("/", 1)[-1])
        stored = self._files.get(reference)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request(
                f"can't use file of type {stored.kind.capitalize()} as {kind.capitalize()}"
            )
        return stored

    async def _send_media(self, params: Params, kind: str) -> JSON:
        user = self._target_user(params)
        stored = self._input_file(params, kind, kind)
        text, raw, entities, parse_mode = self._format(params.text("caption"), params, caption=True)
        markup = parse_reply_markup(params)
        reply_to = self._reply_target(user, params)
        self._admit(user.id)
        version = MessageVersion(text, raw, entities, markup, parse_mode, int(time.time()))
        message = self._store(
            user.id, self.bot_user, True, kind, version, file=stored, reply_to=reply_to
        )
        self.sent_count += 1
        return message.to_api()

    async def _send_photo(self, params: Params) -> JSON:
        return await self._send_media(params, "photo")

    async def _send_document(self, params: Params) -> JSON:
        return await self._send_media(params, "document")

    async def _send_chat_action(self, params: Params) -> bool:
        user = self._target_user(params)
        action = params.text("action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        user.actions.append(action)
        return True

    async def _edit_message_text(self, params: Params) -> JSON:
        user, message = self._editable(params)
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        text, raw, entities, parse_mode = self._format(params.text("text"), params, caption=False)
        markup = parse_reply_markup(params)
        version = MessageVersion(text, raw, entities, markup, parse_mode, int(time.time()))
        return self._apply_edit(user, message, version)

    async def _edit_message_caption(self, params: Params) -> JSON:
        user, message = self._editable(params)
        if message.kind == "text":
            raise bad_request("there is no caption in the message to edit")
        text, raw, entities, parse_mode = self._format(params.text("caption"), params, caption=True)
        markup = parse_reply_markup(params)
        version = MessageVersion(text, raw, entities, markup, parse_mode, int(time.time()))
        return self._apply_edit(user, message, version)

    async def _edit_message_reply_markup(self, params: Params) -> JSON:
        user, message = self._editable(params)
        current = message.current
        markup = parse_reply_markup(params)
        version = MessageVersion(
            current.text,
            current.html,
            current.entities,
            markup,
            current.parse_mode,
            int(time.time()),
        )
        return self._apply_edit(user, message, version)

    async def _delete_message(self, params: Params) -> bool:
        user = self._target_user(params, sending=False)
        message = self._message(user.id, params.integer("message_id") or 0)
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        self._touch()
        return True

    async def _delete_messages(self, params: Params) -> bool:
        user = self._target_user(params, sending=False)
        ids = params.json("message_ids", "can't parse message identifiers JSON array")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message identifiers are not specified")
        for message_id in ids:
            message = self._message(user.id, int(message_id))
            if message is not None:
                message.deleted = True
        self._touch()
        return True

    async def _answer_callback_query(self, params: Params) -> bool:
        query = self._queries.get(params.text("callback_query_id") or "")
        if (
            query is None
            or query.answer is not None
            or self.clock() - query.created > self.callback_timeout
        ):
            raise bad_request(QUERY_TOO_OLD)
        text = params.text("text")
        if text is not None and utf16_len(text) > MAX_ANSWER_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")
        answer = CallbackAnswer(
            query_id=query.query_id,
            data=query.data,
            text=text or None,
            show_alert=params.flag("show_alert"),
            url=params.text("url") or None,
            cache_time=params.integer("cache_time", 0) or 0,
        )
        query.answer = answer
        user = self._users.get(query.user_id)
        if user is not None:
            user.answers.append(answer)
        return True

    async def _get_file(self, params: Params) -> JSON:
        stored = self._files.get(params.text("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    async def _get_chat(self, params: Params) -> JSON:
        user = self._target_user(params, sending=False)
        if not user.started:
            raise bad_request("chat not found")  # the bot has never met this user
        return {
            **user.chat(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    def _scope_key(self, scope: Any) -> tuple[str, int | None, int | None]:
        if scope is None:
            return ("default", None, None)
        if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
            raise bad_request("can't parse BotCommandScope JSON object")
        kind = scope["type"]
        if kind in {"default", "all_private_chats", "all_group_chats", "all_chat_administrators"}:
            return (kind, None, None)
        if kind in {"chat", "chat_administrators", "chat_member"}:
            chat_id = scope.get("chat_id")
            try:
                chat = int(chat_id)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise bad_request("chat not found") from None
            if chat not in self._users or not self._users[chat].started:
                raise bad_request("chat not found")  # a private chat exists once started
            if kind == "chat_member":
                user_id = scope.get("user_id")
                if not isinstance(user_id, int) or user_id not in self._users:
                    raise bad_request("user not found")
                return (kind, chat, user_id)
            return (kind, chat, None)
        raise bad_request("unsupported bot command scope type")

    def _command_key(self, params: Params) -> tuple[str, int | None, int | None, str]:
        scope = params.json("scope", "can't parse BotCommandScope JSON object")
        language = params.text("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("invalid language code specified")
        return (*self._scope_key(scope), language)

    async def _set_my_commands(self, params: Params) -> bool:
        commands = params.json("commands", "can't parse commands JSON array")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON array")
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        cleaned: list[JSON] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse BotCommand JSON object")
            command, description = item.get("command"), item.get("description")
            if not isinstance(command, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", command):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command, "description": description})
        key = self._command_key(params)
        if cleaned:
            self._commands[key] = cleaned
        else:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: Params) -> list[JSON]:
        return [dict(c) for c in self._commands.get(self._command_key(params), [])]

    async def _delete_my_commands(self, params: Params) -> bool:
        self._commands.pop(self._command_key(params), None)
        return True

    def _setter(self, field_name: str, limit: int) -> Callable[[Params], Any]:
        async def handler(params: Params) -> bool:
            value = params.text(field_name) or ""
            if len(value) > limit:
                raise bad_request(f"{field_name.replace('_', ' ')} is too long")
            language = params.text("language_code") or ""
            if value:
                self._bot_texts[(field_name, language)] = value
            else:
                self._bot_texts.pop((field_name, language), None)
            return True

        return handler

    def _getter(self, field_name: str) -> Callable[[Params], Any]:
        async def handler(params: Params) -> JSON:
            language = params.text("language_code") or ""
            value = self._bot_texts.get((field_name, language))
            if value is None and field_name == "name":
                value = self._bot_texts.get((field_name, ""), self.bot_name)
            return {field_name: value or ""}

        return handler

    async def _set_chat_menu_button(self, params: Params) -> bool:
        chat_id = params.integer("chat_id")
        if chat_id is not None and (chat_id not in self._users or not self._users[chat_id].started):
            raise bad_request("chat not found")
        button = params.json("menu_button", "can't parse menu button JSON object")
        self._menu_buttons[chat_id] = button if isinstance(button, dict) else {"type": "default"}
        return True

    async def _get_chat_menu_button(self, params: Params) -> JSON:
        chat_id = params.integer("chat_id")
        button = self._menu_buttons.get(chat_id) or self._menu_buttons.get(None)
        return button or {"type": "commands"}

    # Control API (for a bot running in another process) ------------------------------------

    async def _handle_control(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        query = request.query
        body: JSON = {}
        if request.method == "POST" and request.body_exists:
            try:
                body = await request.json()
            except ValueError:
                return web.json_response({"error": "JSON body expected"}, status=400)
        try:
            result = await self._control(action, request.method, query, body)
        except ApiError as exc:
            return web.json_response({"error": exc.description}, status=400)
        except (KeyError, ValueError, TypeError, AssertionError) as exc:
            return web.json_response({"error": f"{exc.__class__.__name__}: {exc}"}, status=400)
        if result is _NOT_FOUND:
            return web.json_response({"error": f"unknown control action {action}"}, status=404)
        return web.json_response(result, dumps=lambda o: json.dumps(o, ensure_ascii=False))

    async def _control(self, action: str, method: str, query: Any, body: JSON) -> Any:
        if action == "user" and method == "POST":
            user = self.user(
                int(body["id"]),
                body.get("first_name"),
                last_name=body.get("last_name"),
                username=body.get("username"),
                language_code=body.get("language_code"),
                started=bool(body.get("started", False)),
            )
            if "blocked" in body:
                user.blocked = bool(body["blocked"])
            return {"id": user.id, "started": user.started, "blocked": user.blocked}
        if action == "send":
            user = self._users[int(body["user_id"])]
            delivery = await user.send(str(body["text"]))
            return {"update_id": delivery.update_id, "message_id": delivery.message_id}
        if action == "press":
            user = self._users[int(body["user_id"])]
            chat_id = int(body.get("chat_id", user.id))
            message = (
                self._message(chat_id, int(body["message_id"])) if "message_id" in body else None
            )
            if "text" in body:
                if message is None:
                    raise KeyError("message_id")
                press = await user.press(message, str(body["text"]))
            else:
                press = await user.press_data(message, body.get("data"))
            return {"update_id": press.update_id, "callback_query_id": press.query_id}
        if action == "messages":
            chat_id = int(query["chat_id"])
            after = int(query.get("after", 0))
            wait = float(query.get("wait", 0))
            include_user = query.get("all") in ("1", "true")
            deadline = time.monotonic() + wait
            while True:
                messages = [
                    m.to_control()
                    for m in self.chat_messages(chat_id)
                    if m.message_id > after and (include_user or m.from_bot)
                ]
                if messages or time.monotonic() >= deadline:
                    return messages
                await self._changed.wait(deadline - time.monotonic())
        if action == "answers":
            user_id = int(query["user_id"]) if "user_id" in query else None
            return [a.__dict__ for a in self.answers(user_id)]
        if action == "stats":
            return self.stats()
        if action == "reset_stats":
            self.reset_stats()
            return {"ok": True}
        if action == "flood":
            limits = FloodLimits(**body["limits"]) if body.get("limits") else None
            self.set_flood(bool(body.get("on", True)), limits)
            return {"flood": self.flood}
        if action == "block":
            user = self._users[int(body["user_id"])]
            if body.get("blocked", True):
                user.block()
            else:
                user.unblock()
            return {"blocked": user.blocked}
        if action == "force_429":
            self.force_429(int(body["count"]), int(body.get("retry_after", 1)))
            return {"ok": True}
        if action == "fail_next":
            self.fail_next(
                body["method"],
                int(body.get("count", 1)),
                int(body.get("error_code", 500)),
                body.get("description"),
                retry_after=body.get("retry_after"),
            )
            return {"ok": True}
        if action == "commands":
            scope = json.loads(query["scope"]) if query.get("scope", "").startswith("{") else None
            return [
                {"command": c, "description": d}
                for c, d in self.commands(
                    scope or query.get("scope", "default"), query.get("language_code", "")
                )
            ]
        if action == "idle":
            await self.wait_idle(float(body.get("quiet", 0.15)), float(body.get("timeout", 10)))
            return {"ok": True}
        if action == "updates":
            return self.pending_updates
        return _NOT_FOUND


class _Described:
    """A successful result that Telegram accompanies with a description."""

    def __init__(self, result: Any, description: str) -> None:
        self.result = result
        self.description = description


_NOT_FOUND = object()


# --------------------------------------------------------------------------------------------
# Client for the control API of a server running in another process


@dataclass
class MessageInfo:
    """A message as the control API reports it."""

    message_id: int
    chat_id: int
    text: str
    html: str
    from_bot: bool = True
    kind: str = "text"
    buttons_json: list[list[JSON]] = field(default_factory=list)
    edits: list[JSON] = field(default_factory=list)
    deleted: bool = False
    raw: JSON = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: JSON) -> MessageInfo:
        return cls(
            message_id=data["message_id"],
            chat_id=data["chat_id"],
            text=data["text"],
            html=data["html"],
            from_bot=data["from_bot"],
            kind=data["kind"],
            buttons_json=data["buttons"],
            edits=data["edits"],
            deleted=data["deleted"],
            raw=data,
        )

    @property
    def buttons(self) -> list[list[Button]]:
        return [
            [Button(b["text"], b.get("callback_data")) for b in row] for row in self.buttons_json
        ]


class RemoteUser:
    """The control-API twin of FakeUser."""

    def __init__(self, client: ControlClient, user_id: int) -> None:
        self.client = client
        self.id = user_id
        self._last_seen = 0

    async def send(self, text: str) -> int:
        result = await self.client.send(self.id, text)
        return int(result["update_id"])

    async def press(self, message: MessageInfo | int, text: str) -> str:
        message_id = message.message_id if isinstance(message, MessageInfo) else message
        result = await self.client._post("press", user_id=self.id, message_id=message_id, text=text)
        return str(result["callback_query_id"])

    async def press_data(self, message: MessageInfo | int | None, data: str) -> str:
        message_id = message.message_id if isinstance(message, MessageInfo) else message
        result = await self.client.press(self.id, message_id, data)
        return str(result["callback_query_id"])

    async def expect(
        self,
        contains: str | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - an assertion deadline, not a cancel scope
    ) -> MessageInfo:
        messages = await self.client.messages(self.id, after=self._last_seen, wait=timeout)
        if not messages:
            raise AssertionError(f"user {self.id} got no new message within {timeout}s")
        message = messages[0]
        self._last_seen = message.message_id
        if contains is not None and contains not in message.text:
            raise AssertionError(f"next message to {self.id} lacks {contains!r}: {message.text!r}")
        return message

    async def block(self, blocked: bool = True) -> None:
        await self.client.block(self.id, blocked)


class ControlClient:
    """Async client for ``/_control/`` of a server started with ``python -m bot.botapi``."""

    def __init__(self, url: str) -> None:
        host = urlsplit(url).hostname
        if host not in LOOPBACK_HOSTS:
            raise ValueError("the control client only talks to a server on this machine")
        self.url = url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ControlClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        return self._session

    async def _post(self, action: str, **body: Any) -> Any:
        async with self._http().post(f"{self.url}/_control/{action}", json=body) as response:
            data = await response.json()
            if response.status != 200:
                raise RuntimeError(f"control {action} failed: {data}")
            return data

    async def _get(self, action: str, **query: Any) -> Any:
        params = {k: str(v) for k, v in query.items() if v is not None}
        async with self._http().get(f"{self.url}/_control/{action}", params=params) as response:
            data = await response.json()
            if response.status != 200:
                raise RuntimeError(f"control {action} failed: {data}")
            return data

    async def user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        language_code: str | None = None,
        username: str | None = None,
        blocked: bool = False,
        started: bool = False,
    ) -> RemoteUser:
        await self._post(
            "user",
            id=user_id,
            first_name=first_name,
            language_code=language_code,
            username=username,
            blocked=blocked,
            started=started,
        )
        return RemoteUser(self, user_id)

    async def send(self, user_id: int, text: str) -> JSON:
        return await self._post("send", user_id=user_id, text=text)  # type: ignore[no-any-return]

    async def press(
        self, user_id: int, message_id: int | None, data: str, chat_id: int | None = None
    ) -> JSON:
        body: JSON = {"user_id": user_id, "data": data, "chat_id": chat_id or user_id}
        if message_id is not None:
            body["message_id"] = message_id
        return await self._post("press", **body)  # type: ignore[no-any-return]

    async def messages(
        self, chat_id: int, *, after: int = 0, wait: float = 0.0, include_user: bool = False
    ) -> list[MessageInfo]:
        data = await self._get(
            "messages", chat_id=chat_id, after=after, wait=wait, all=int(include_user)
        )
        return [MessageInfo.from_json(item) for item in data]

    async def answers(self, user_id: int | None = None) -> list[JSON]:
        return await self._get("answers", user_id=user_id)  # type: ignore[no-any-return]

    async def stats(self) -> JSON:
        return await self._get("stats")  # type: ignore[no-any-return]

    async def reset_stats(self) -> None:
        await self._post("reset_stats")

    async def flood(self, on: bool, **limits: Any) -> None:
        await self._post("flood", on=on, limits=limits or None)

    async def block(self, user_id: int, blocked: bool = True) -> None:
        await self._post("block", user_id=user_id, blocked=blocked)

    async def force_429(self, count: int, retry_after: int = 1) -> None:
        await self._post("force_429", count=count, retry_after=retry_after)

    async def fail_next(
        self, method: str, count: int = 1, error_code: int = 500, description: str | None = None
    ) -> None:
        await self._post(
            "fail_next", method=method, count=count, error_code=error_code, description=description
        )

    async def commands(self, scope: str | JSON = "default", language_code: str = "") -> list[JSON]:
        scope_text = json.dumps(scope) if isinstance(scope, dict) else scope
        return await self._get(  # type: ignore[no-any-return]
            "commands", scope=scope_text, language_code=language_code
        )

    async def wait_idle(self, quiet: float = 0.15, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        await self._post("idle", quiet=quiet, timeout=timeout)

    async def pending_updates(self) -> list[JSON]:
        return await self._get("updates")  # type: ignore[no-any-return]
