"""Telegram accounts, their languages and roles, and invitations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import clock, invitations
from bot.invitations import Invitation, code_hash
from bot.store import Database, audit


class AlreadyRegistered(Exception):
    """The account is already bound; an account belongs to one member only."""

    def __init__(self, member: str | None, role: str) -> None:
        super().__init__(member or role)
        self.member = member
        self.role = role


@dataclass(frozen=True)
class Account:
    telegram_id: int
    language: str | None
    telegram_language: str | None
    member: str | None
    role: str | None


async def account(db: Database, telegram_id: int) -> Account | None:
    row = await db.one(
        "SELECT telegram_id, language, telegram_language, member, role FROM users"
        " WHERE telegram_id = ?",
        (telegram_id,),
    )
    return Account(*tuple(row)) if row else None


async def seen(db: Database, telegram_id: int, telegram_language: str | None) -> None:
    """Remember an account and the language its Telegram app reports."""
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO users (telegram_id, telegram_language) VALUES (?, ?)"
            " ON CONFLICT(telegram_id) DO UPDATE SET telegram_language = excluded.telegram_language"
            " WHERE users.telegram_language IS NOT excluded.telegram_language",
            (telegram_id, telegram_language),
        )


async def set_language(db: Database, telegram_id: int, language: str) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO users (telegram_id, language) VALUES (?, ?)"
            " ON CONFLICT(telegram_id) DO UPDATE SET language = excluded.language",
            (telegram_id, language),
        )


async def delegates_of(db: Database, member: str) -> list[Account]:
    rows = await db.all(
        "SELECT telegram_id, language, telegram_language, member, role FROM users"
        " WHERE member = ? ORDER BY telegram_id",
        (member,),
    )
    return [Account(*tuple(r)) for r in rows]


async def registered(db: Database) -> list[Account]:
    rows = await db.all(
        "SELECT telegram_id, language, telegram_language, member, role FROM users"
        " WHERE role IS NOT NULL ORDER BY telegram_id"
    )
    return [Account(*tuple(r)) for r in rows]


async def create_invitation(
    db: Database,
    code: str,
    member: str | None,
    role: str,
    expires_at: datetime,
    *,
    actor_id: int | None = None,
    actor: str | None = None,
) -> int:
    async with db.transaction() as tx:
        invitation_id = await tx.insert(
            "INSERT INTO invitations (code_hash, member, role, created_at, created_by, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                code_hash(code),
                member,
                role,
                clock.iso(clock.now()),
                actor_id,
                clock.iso(expires_at),
            ),
        )
        await audit.append(
            tx,
            "invitation_issued",
            {"invitation": invitation_id, "role": role},
            actor_id=actor_id,
            actor=actor,
            member=member,
        )
    return invitation_id


def _invitation(row: tuple[Any, ...]) -> Invitation:
    def when(value: object) -> datetime | None:
        return clock.parse(str(value)) if value else None

    expires = when(row[3])
    assert expires is not None
    return Invitation(
        id=int(row[0]),
        member=row[1] and str(row[1]),
        role=str(row[2]),
        expires_at=expires,
        used_at=when(row[4]),
        revoked_at=when(row[5]),
    )


_INVITATION_FIELDS = "id, member, role, expires_at, used_at, revoked_at"


async def find_invitation(db: Database, code: str) -> Invitation | None:
    row = await db.one(
        f"SELECT {_INVITATION_FIELDS} FROM invitations WHERE code_hash = ?", (code_hash(code),)
    )
    return _invitation(tuple(row)) if row else None


async def redeem(
    db: Database,
    code: str,
    telegram_id: int,
    first_name: str | None,
    username: str | None,
    now: datetime,
) -> Invitation | None:
    """Use a valid code and bind the account, atomically; None if the code is not valid.

    The ``used_at IS NULL`` guard and the single-use trigger make a code usable once even
    when two accounts open it at the same instant.
    """
    async with db.transaction() as tx:
        bound = await tx.one(
            "SELECT member, role FROM users WHERE telegram_id = ? AND role IS NOT NULL",
            (telegram_id,),
        )
        if bound is not None:
            raise AlreadyRegistered(bound[0], str(bound[1]))
        row = await tx.one(
            f"SELECT {_INVITATION_FIELDS} FROM invitations WHERE code_hash = ?"
            " AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
            (code_hash(code), clock.iso(now)),
        )
        if row is None:
            return None
        invitation = _invitation(tuple(row))
        changed = await tx.execute(
            "UPDATE invitations SET used_at = ?, used_by = ? WHERE id = ? AND used_at IS NULL",
            (clock.iso(now), telegram_id, invitation.id),
        )
        if not changed:
            return None
        await tx.execute(
            "INSERT INTO users (telegram_id, first_name, username, member, role, joined_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(telegram_id) DO UPDATE SET"
            " first_name = excluded.first_name, username = excluded.username,"
            " member = excluded.member, role = excluded.role, joined_at = excluded.joined_at",
            (telegram_id, first_name, username, invitation.member, invitation.role, clock.iso(now)),
        )
        await audit.append(
            tx,
            "delegate_registered",
            {"invitation": invitation.id, "role": invitation.role},
            actor_id=telegram_id,
            member=invitation.member,
        )
    return invitation


async def revoke_invitations(
    db: Database, member: str | None, *, actor_id: int | None = None, actor: str | None = None
) -> int:
    """Revoke every unused invitation of a member (``None``: of the secretariat)."""
    async with db.transaction() as tx:
        count = await tx.execute(
            "UPDATE invitations SET revoked_at = ? WHERE member IS ? AND used_at IS NULL"
            " AND revoked_at IS NULL",
            (clock.iso(clock.now()), member),
        )
        if count:
            await audit.append(
                tx,
                "invitations_revoked",
                {"count": count},
                actor_id=actor_id,
                actor=actor,
                member=member,
            )
    return count


async def issue_invitation(
    db: Database,
    bot_username: str,
    member: str | None,
    role: str,
    *,
    actor_id: int | None = None,
    actor: str | None = None,
) -> invitations.Issued:
    """A new one-time code for ``member`` (None: the secretariat), shown once as a link."""
    code = invitations.new_code()
    expires = clock.now() + invitations.VALID_FOR
    await create_invitation(db, code, member, role, expires, actor_id=actor_id, actor=actor)
    return invitations.Issued(
        code, invitations.invite_link(bot_username, code), member, role, expires
    )


async def take_expiring(db: Database, now: datetime, until: datetime) -> list[Invitation]:
    """Unused, unrevoked invitations expiring before ``until`` that nobody was reminded of
    yet; they are marked reminded in the same transaction, so each is reminded once."""
    async with db.transaction() as tx:
        rows = await tx.all(
            f"SELECT {_INVITATION_FIELDS} FROM invitations WHERE used_at IS NULL"
            " AND revoked_at IS NULL AND reminded_at IS NULL AND expires_at > ?"
            " AND expires_at <= ? ORDER BY expires_at",
            (clock.iso(now), clock.iso(until)),
        )
        found = [_invitation(tuple(row)) for row in rows]
        await tx.executemany(
            "UPDATE invitations SET reminded_at = ? WHERE id = ?",
            [(clock.iso(now), invitation.id) for invitation in found],
        )
    return found


async def secretariat_ids(db: Database, configured: frozenset[int]) -> list[int]:
    """Every secretariat account: those in SECRETARIAT_IDS and those invited as such."""
    rows = await db.all("SELECT telegram_id FROM users WHERE role = 'secretariat'")
    return sorted(configured | {int(r[0]) for r in rows})
