"""Invitations: one-time codes that bind a Telegram account to a member.

A code is shown once, as a deep link; only its SHA-256 hash is stored. A code is refused
when it is unknown, used, revoked or expired, in that order of precedence.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

VALID_FOR = timedelta(days=14)
CODE_BYTES = 12  # 16 URL-safe characters, within a deep link's 64-character limit
ROLES = ("delegate", "chair", "secretariat")

Status = Literal["valid", "unknown", "used", "revoked", "expired"]


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def looks_like_code(text: str) -> bool:
    """Deep-link payloads are at most 64 characters of A-Z, a-z, 0-9, _ and -."""
    return 0 < len(text) <= 64 and all(c.isascii() and (c.isalnum() or c in "_-") for c in text)


def invite_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


@dataclass(frozen=True)
class Invitation:
    id: int
    member: str | None
    role: str
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


def status(invitation: Invitation | None, now: datetime) -> Status:
    if invitation is None:
        return "unknown"
    if invitation.used_at is not None:
        return "used"
    if invitation.revoked_at is not None:
        return "revoked"
    if now >= invitation.expires_at:
        return "expired"
    return "valid"


@dataclass(frozen=True)
class Issued:
    code: str
    link: str
    member: str | None
    role: str
    expires_at: datetime

    def as_json(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "link": self.link,
            "member": self.member,
            "role": self.role,
            "expires_at": self.expires_at.isoformat(timespec="seconds"),
        }


def parse_target(member_word: str, role: str | None) -> tuple[str | None, str]:
    """``MEMBER [role]`` as typed: the word ``secretariat`` invites a secretariat account.

    Raises ValueError for a role that does not exist or does not fit the target.
    """
    word = member_word.strip().upper()
    role = (role or "").strip().lower() or None
    if word == "SECRETARIAT":
        if role not in (None, "secretariat"):
            raise ValueError("role")
        return None, "secretariat"
    role = role or "delegate"
    if role not in ("delegate", "chair"):
        raise ValueError("role")
    return word, role
