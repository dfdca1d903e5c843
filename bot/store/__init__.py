"""SQLite storage through aiosqlite: the only place with SQL.

One connection per process, WAL so that the CLI and the running bot can work on the same
file, foreign keys on, a busy timeout, and schema versions applied in order at open.
Every write runs inside ``Database.transaction()``, which holds an asyncio lock for the
whole ``BEGIN IMMEDIATE ... COMMIT`` so concurrent handlers never interleave statements
inside one another's transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import aiosqlite

from bot.store.schema import MIGRATIONS

Row = sqlite3.Row


class DatabaseUnavailable(Exception):
    """The database cannot be opened or brought to the current schema; the message says
    which file and why, in one line."""


class Database:
    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> Database:
        try:
            conn = await aiosqlite.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(f"cannot open the database {self.path}: {exc}") from None
        # From here on the connection's thread must be stopped on any failure, or the
        # process never exits.
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute("PRAGMA busy_timeout = 10000")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            await conn.close()
            raise DatabaseUnavailable(f"cannot open the database {self.path}: {exc}") from None
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        try:
            await self._migrate()
        except sqlite3.Error as exc:  # e.g. a file that is not a database
            await self.close()
            raise DatabaseUnavailable(f"cannot open the database {self.path}: {exc}") from None
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def _migrate(self) -> None:
        async with self.transaction() as tx:
            row = await tx.one("PRAGMA user_version")
            version = int(row[0]) if row else 0
            for number, script in enumerate(MIGRATIONS, start=1):
                if number <= version:
                    continue
                try:
                    for statement in _statements(script):
                        await tx.execute(statement)
                except sqlite3.Error as exc:
                    raise DatabaseUnavailable(
                        f"cannot bring the database {self.path} to schema version {number}: {exc}"
                    ) from None
                await tx.execute(f"PRAGMA user_version = {number}")

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A write transaction: ``BEGIN IMMEDIATE``, committed on success, else rolled back."""
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self.conn)
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Tx]:
        """A read transaction: every query inside sees the same committed state."""
        async with self._lock:
            await self.conn.execute("BEGIN")
            try:
                yield Tx(self.conn)
            finally:
                await self.conn.execute("COMMIT")

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self.snapshot() as tx:
            return await tx.all(sql, params)

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self.snapshot() as tx:
            return await tx.one(sql, params)

    async def backup(self, target: str) -> None:
        """A consistent copy taken while the bot runs (SQLite's online backup API)."""
        async with self._lock:
            dest = await aiosqlite.connect(target)
            try:
                await self.conn.backup(dest)
            finally:
                await dest.close()


class Tx:
    """Statements inside one transaction."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    @property
    def db(self) -> Database:
        """The database as seen from inside this transaction (see ``InTransaction``)."""
        return InTransaction(self)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self.conn.execute(sql, params)
        count = cursor.rowcount
        await cursor.close()
        return count

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self.conn.execute(sql, params)
        rowid = cursor.lastrowid
        await cursor.close()
        assert rowid is not None
        return rowid

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.conn.executemany(sql, rows)

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cursor = await self.conn.execute(sql, params)
        rows = await cursor.fetchall()
        await cursor.close()
        return list(rows)

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        cursor = await self.conn.execute(sql, params)
        row = await cursor.fetchone()
        await cursor.close()
        return row


class InTransaction(Database):
    """The database seen from inside one open write transaction: every reader runs in it,
    and a nested ``transaction()`` joins it, committed or rolled back with it. Lets a use
    case read the facts, apply the rules and write through the ordinary store functions,
    all in its single ``BEGIN IMMEDIATE``."""

    def __init__(self, tx: Tx) -> None:
        super().__init__("")
        self._conn = tx.conn
        self._tx = tx

    async def open(self) -> Database:
        raise RuntimeError("a transaction's view is already open")

    async def close(self) -> None:
        raise RuntimeError("a transaction's view is closed with its transaction")

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        yield self._tx

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Tx]:
        yield self._tx

    async def backup(self, target: str) -> None:
        raise RuntimeError("no backup from inside a transaction")


def _statements(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
