import pytest

from bot.store import Database


@pytest.fixture
async def db(tmp_path):
    database = await Database(str(tmp_path / "test.sqlite3")).open()
    yield database
    await database.close()
