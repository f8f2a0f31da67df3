"""Which failures are a store away for now (worth trying again) and which are not."""

import secrets

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from storage.errors import StateStoreUnavailable
from storage.outages import unreachable
from storage.state import RedisStateStore
from tests.own_redis import free_port


async def connect_error(url: str) -> BaseException:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as error:
        return error
    finally:
        await engine.dispose()
    raise AssertionError(f"{url} answered")


async def test_postgresql_refusing_more_clients_passes_a_missing_database_does_not(
    postgres_url: str,
) -> None:
    role = f"cxtest_full_{secrets.token_hex(3)}"
    admin = create_async_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:  # "too many connections for role": SQLSTATE 53300
            await conn.execute(text(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0"))
        full = make_url(postgres_url).set(username=role, password=None)
        assert unreachable(await connect_error(full.render_as_string(hide_password=False)))
        missing = make_url(postgres_url).set(database=f"cxtest_none_{secrets.token_hex(3)}")
        assert not unreachable(await connect_error(missing.render_as_string(hide_password=False)))
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        await admin.dispose()


async def test_nothing_listening_passes() -> None:
    port = free_port()
    store = RedisStateStore(f"redis://127.0.0.1:{port}/0")
    try:
        with pytest.raises(StateStoreUnavailable) as caught:
            await store.ping()
    finally:
        await store.close()
    assert unreachable(caught.value)
    assert unreachable(await connect_error(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/x"))
    assert not unreachable(ValueError("a bug"))
