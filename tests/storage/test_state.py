"""State stores: values with TTLs, one-time claims and locks, in memory and in Redis alike."""

import asyncio
import time

import pytest
from redis.asyncio import Redis

from storage.errors import StateLockTimeout, StateStoreUnavailable, StorageError
from storage.state import (
    BaseStateStore,
    MemoryStateStore,
    RedisStateStore,
    StateKey,
    key,
    open_state_store,
)

CONVERSATION = key("conversation", "telegram", 1001)
SHORT = 0.2  # seconds: long enough to read back, short enough to wait out


async def _pointed(store: BaseStateStore, pointer: StateKey) -> tuple[str | None, str | None]:
    async with store.lock_pointed(pointer, "lock", timeout=5, read="conv") as locked:
        return locked.pointed, locked.value


class TestStateStore:
    async def test_a_missing_key_reads_as_none(self, state_store: BaseStateStore) -> None:
        assert await state_store.get(CONVERSATION) is None

    async def test_set_then_get_and_overwrite(self, state_store: BaseStateStore) -> None:
        await state_store.set(CONVERSATION, '{"step": 1}', None)
        assert await state_store.get(CONVERSATION) == '{"step": 1}'
        await state_store.set(CONVERSATION, '{"step": 2}', 60)
        assert await state_store.get(CONVERSATION) == '{"step": 2}'
        assert await state_store.get(key("conversation", "telegram", 1002)) is None

    async def test_unicode_values_round_trip(self, state_store: BaseStateStore) -> None:
        await state_store.set(CONVERSATION, "Olá, 世界 👋", None)
        assert await state_store.get(CONVERSATION) == "Olá, 世界 👋"

    async def test_a_value_expires_after_its_ttl(self, state_store: BaseStateStore) -> None:
        await state_store.set(CONVERSATION, "soon gone", SHORT)
        await state_store.set(key("conversation", "kept"), "kept", None)
        assert await state_store.get(CONVERSATION) == "soon gone"
        await asyncio.sleep(SHORT + 0.15)
        assert await state_store.get(CONVERSATION) is None
        assert await state_store.get(key("conversation", "kept")) == "kept"

    async def test_setting_without_ttl_removes_an_earlier_ttl(
        self, state_store: BaseStateStore
    ) -> None:
        await state_store.set(CONVERSATION, "first", SHORT)
        await state_store.set(CONVERSATION, "forever", None)
        await asyncio.sleep(SHORT + 0.15)
        assert await state_store.get(CONVERSATION) == "forever"

    async def test_delete_removes_and_tolerates_absence(self, state_store: BaseStateStore) -> None:
        await state_store.set(CONVERSATION, "x", None)
        await state_store.delete(CONVERSATION)
        await state_store.delete(CONVERSATION)
        assert await state_store.get(CONVERSATION) is None

    async def test_set_many_stores_every_value_with_one_ttl(
        self, state_store: BaseStateStore
    ) -> None:
        pointer = key("active", "telegram", 1001)
        await state_store.set(pointer, "old", None)
        await state_store.set_many({CONVERSATION: '{"step": 2}', pointer: "7"}, SHORT)
        assert await state_store.get(CONVERSATION) == '{"step": 2}'
        assert await state_store.get(pointer) == "7"
        await asyncio.sleep(SHORT + 0.15)
        assert await state_store.get(CONVERSATION) is None
        assert await state_store.get(pointer) is None

    async def test_set_many_without_ttl_keeps_values(self, state_store: BaseStateStore) -> None:
        await state_store.set_many({CONVERSATION: "a", key("other"): "b"}, None)
        await state_store.set_many({}, None)
        assert await state_store.get(CONVERSATION) == "a"
        assert await state_store.get(key("other")) == "b"
        with pytest.raises(ValueError, match="ttl"):
            await state_store.set_many({CONVERSATION: "x"}, 0)

    async def test_delete_if_equals_spares_a_newer_value(self, state_store: BaseStateStore) -> None:
        pointer = key("active", "telegram", 1001)
        await state_store.set(pointer, "8", None)
        assert not await state_store.delete_if_equals(pointer, "7")
        assert await state_store.get(pointer) == "8"
        assert await state_store.delete_if_equals(pointer, "8")
        assert await state_store.get(pointer) is None
        assert not await state_store.delete_if_equals(pointer, "8")

    async def test_an_update_id_is_claimed_only_once(self, state_store: BaseStateStore) -> None:
        update = key("telegram-update", 987654321)
        assert await state_store.claim(update, 60)
        assert not await state_store.claim(update, 60)
        assert await state_store.claim(key("telegram-update", 987654322), 60)

    async def test_a_claim_can_be_made_again_after_it_expires(
        self, state_store: BaseStateStore
    ) -> None:
        event = key("slack-event", "Ev01")
        assert await state_store.claim(event, SHORT)
        await asyncio.sleep(SHORT + 0.15)
        assert await state_store.claim(event, SHORT)

    async def test_concurrent_claims_have_one_winner(self, state_store: BaseStateStore) -> None:
        event = key("slack-event", "Ev02")
        won = await asyncio.gather(*(state_store.claim(event, 60) for _ in range(20)))
        assert won.count(True) == 1

    async def test_ttls_must_be_positive(self, state_store: BaseStateStore) -> None:
        with pytest.raises(ValueError, match="ttl"):
            await state_store.set(CONVERSATION, "x", 0)
        with pytest.raises(ValueError, match="ttl"):
            await state_store.claim(CONVERSATION, -1)

    async def test_a_lock_keeps_out_a_second_holder_until_released(
        self, state_store: BaseStateStore
    ) -> None:
        holding = asyncio.Event()
        release = asyncio.Event()

        async def holder() -> None:
            async with state_store.lock(CONVERSATION):
                holding.set()
                await release.wait()

        task = asyncio.create_task(holder())
        await holding.wait()
        started = time.monotonic()
        with pytest.raises(StateLockTimeout) as caught:
            async with state_store.lock(CONVERSATION, timeout=SHORT):
                pytest.fail("entered a held lock")
        assert SHORT - 0.05 <= time.monotonic() - started < SHORT + 1
        assert caught.value.timeout == SHORT
        assert isinstance(caught.value, StorageError)
        release.set()
        await task
        async with state_store.lock(CONVERSATION, timeout=SHORT):
            pass

    async def test_locked_read_modify_write_loses_no_update(
        self, state_store: BaseStateStore
    ) -> None:
        counter = key("counter", "answers")
        await state_store.set(counter, "0", None)

        async def increment() -> None:
            async with state_store.lock(counter, timeout=10):
                value = int(await state_store.get(counter) or "0")
                await asyncio.sleep(0.005)
                await state_store.set(counter, str(value + 1), None)

        await asyncio.gather(*(increment() for _ in range(20)))
        assert await state_store.get(counter) == "20"

    async def test_a_waiting_locker_gets_in_soon_after_release(
        self, state_store: BaseStateStore
    ) -> None:
        holding = asyncio.Event()

        async def holder() -> float:
            async with state_store.lock(CONVERSATION):
                holding.set()
                released = time.monotonic() + 0.02
                await asyncio.sleep(0.02)
            return released

        task = asyncio.create_task(holder())
        await holding.wait()
        async with state_store.lock(CONVERSATION, timeout=5):
            entered = time.monotonic()
        # A tap queued behind another on the same survey follows it closely, not a 0.1 s poll.
        assert entered - await task < 0.07

    async def test_locking_a_key_leaves_its_value_alone(self, state_store: BaseStateStore) -> None:
        await state_store.set(CONVERSATION, "state", None)
        async with state_store.lock(CONVERSATION):
            assert await state_store.get(CONVERSATION) == "state"
            await state_store.set(CONVERSATION, "new state", None)
        assert await state_store.get(CONVERSATION) == "new state"

    async def test_locks_on_different_keys_do_not_block_each_other(
        self, state_store: BaseStateStore
    ) -> None:
        async with (
            state_store.lock(key("conversation", 1)),
            state_store.lock(key("conversation", 2), timeout=SHORT),
        ):
            pass

    async def test_an_error_inside_the_lock_releases_it(self, state_store: BaseStateStore) -> None:
        with pytest.raises(RuntimeError):
            async with state_store.lock(CONVERSATION):
                raise RuntimeError("handler crashed")
        async with state_store.lock(CONVERSATION, timeout=SHORT):
            pass

    async def test_a_lock_reads_its_key_as_it_is_taken(self, state_store: BaseStateStore) -> None:
        await state_store.set(CONVERSATION, "state", None)
        async with state_store.lock(key("lock", 1), read=CONVERSATION) as locked:
            assert locked.value == "state"
        async with state_store.lock(key("lock", 1), read=key("conversation", "none")) as locked:
            assert locked.value is None
        async with state_store.lock(key("lock", 1)) as locked:
            assert locked.value is None

    async def test_writes_staged_on_a_lock_land_as_it_is_released(
        self, state_store: BaseStateStore
    ) -> None:
        pointer, other = key("active", "telegram", 1001), key("active", "telegram", 1002)
        await state_store.set(other, "8", None)
        async with state_store.lock(key("lock", 7), read=CONVERSATION) as locked:
            locked.set_on_release({CONVERSATION: "step 2", pointer: "7"}, SHORT)
            locked.delete_on_release(other, if_equals="7")  # a newer survey owns it: kept
            assert await state_store.get(CONVERSATION) is None
        assert await state_store.get(CONVERSATION) == "step 2"
        assert await state_store.get(pointer) == "7"
        assert await state_store.get(other) == "8"
        async with state_store.lock(key("lock", 7), read=CONVERSATION) as locked:
            assert locked.value == "step 2"
            locked.delete_on_release(CONVERSATION)
            locked.delete_on_release(pointer, if_equals="7")
        assert await state_store.get(CONVERSATION) is None
        assert await state_store.get(pointer) is None
        async with state_store.lock(key("lock", 7)) as locked:
            locked.set_on_release({CONVERSATION: "forever"}, None)
        await asyncio.sleep(SHORT + 0.15)  # the staged TTL applies; None keeps the value
        assert await state_store.get(CONVERSATION) == "forever"
        with pytest.raises(ValueError, match="ttl"):
            async with state_store.lock(key("lock", 7)) as locked:
                locked.set_on_release({CONVERSATION: "x"}, 0)

    async def test_staged_writes_land_even_when_the_block_raises(
        self, state_store: BaseStateStore
    ) -> None:
        with pytest.raises(RuntimeError):
            async with state_store.lock(key("lock", 7)) as locked:
                locked.set_on_release({CONVERSATION: "saved"}, 60)
                raise RuntimeError("a send failed after the answer was stored")
        assert await state_store.get(CONVERSATION) == "saved"
        async with state_store.lock(key("lock", 7), timeout=SHORT):
            pass

    async def test_a_pointer_names_the_lock_and_the_key_read_with_it(
        self, state_store: BaseStateStore
    ) -> None:
        pointer = key("active", "telegram", 1001)
        await state_store.set(pointer, "7", None)
        await state_store.set(key("conv", 7), "state", None)
        async with state_store.lock_pointed(pointer, "lock", read="conv") as locked:
            assert (locked.pointed, locked.value) == ("7", "state")
            with pytest.raises(StateLockTimeout):  # the very lock lock() takes
                async with state_store.lock(key("lock", 7), timeout=SHORT):
                    pytest.fail("entered a held lock")
            locked.set_on_release({key("conv", 7): "step 2"}, None)
        assert await state_store.get(key("conv", 7)) == "step 2"
        async with state_store.lock(key("lock", 7), timeout=SHORT):
            pass  # released
        async with state_store.lock_pointed(pointer, "lock") as locked:
            assert (locked.pointed, locked.value) == ("7", None)

    async def test_without_a_pointer_nothing_is_locked(self, state_store: BaseStateStore) -> None:
        absent = key("active", "telegram", 404)
        async with state_store.lock_pointed(absent, "lock", read="conv") as locked:
            assert (locked.pointed, locked.value) == (None, None)

    async def test_a_pointer_moved_while_waiting_is_followed(
        self, state_store: BaseStateStore
    ) -> None:
        pointer = key("active", "telegram", 1001)
        await state_store.set(pointer, "7", None)
        await state_store.set(key("conv", 8), "newer", None)
        async with state_store.lock(key("lock", 7)):
            waiting = asyncio.create_task(_pointed(state_store, pointer))
            await asyncio.sleep(0.05)
            await state_store.set(pointer, "8", None)  # a newer survey took over meanwhile
        assert await waiting == ("8", "newer")

    async def test_ping_succeeds(self, state_store: BaseStateStore) -> None:
        await state_store.ping()


class TestKeys:
    def test_key_renders_prefix_namespace_and_parts(self) -> None:
        assert key("conv", "telegram", 42).render("cxbot") == "cxbot:conv:telegram:42"
        assert key("conv", 42) == StateKey("conv", ("42",))
        assert key("flag").render("p") == "p:flag"

    @pytest.mark.parametrize("namespace", ["", "a:b"])
    def test_a_namespace_must_be_plain(self, namespace: str) -> None:
        with pytest.raises(ValueError, match="namespace"):
            key(namespace, 1)


class TestRedisStateStore:
    async def test_keys_live_under_the_prefix(self, redis_state_store: RedisStateStore) -> None:
        await redis_state_store.set(CONVERSATION, "x", 60)
        name = CONVERSATION.render(redis_state_store.prefix)
        assert await redis_state_store.client.get(name) == "x"
        assert 0 < await redis_state_store.client.pttl(name) <= 60_000

    async def test_a_lock_excludes_another_process(
        self, redis_state_store: RedisStateStore, redis_url: str
    ) -> None:
        other = RedisStateStore(redis_url, prefix=redis_state_store.prefix)
        try:
            async with redis_state_store.lock(CONVERSATION):
                with pytest.raises(StateLockTimeout):
                    async with other.lock(CONVERSATION, timeout=SHORT):
                        pytest.fail("entered a lock held by another client")
            async with other.lock(CONVERSATION, timeout=SHORT):
                pass
        finally:
            await other.close()

    async def test_a_lock_is_one_expiring_key_gone_after_release(
        self, redis_state_store: RedisStateStore
    ) -> None:
        name = CONVERSATION.render(f"{redis_state_store.prefix}:lock")
        async with redis_state_store.lock(CONVERSATION):
            assert 0 < await redis_state_store.client.pttl(name) <= 60_000
        assert await redis_state_store.client.exists(name) == 0

    async def test_a_lock_whose_holder_died_expires(
        self, redis_state_store: RedisStateStore
    ) -> None:
        name = CONVERSATION.render(f"{redis_state_store.prefix}:lock")
        dead = redis_state_store.client.lock(name, timeout=SHORT)
        assert await dead.acquire(blocking=False)  # never released: its process "died"
        async with redis_state_store.lock(CONVERSATION, timeout=2):
            pass

    async def test_a_holder_outliving_the_lock_ttl_is_warned(
        self, redis_state_store: RedisStateStore, redis_url: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        short_lived = RedisStateStore(redis_url, prefix=redis_state_store.prefix, lock_ttl=SHORT)
        try:
            async with short_lived.lock(CONVERSATION):
                await asyncio.sleep(SHORT + 0.15)
        finally:
            await short_lived.close()
        assert "expired before release" in caplog.text

    async def test_from_client_wraps_an_existing_client(self, redis_url: str) -> None:
        client = Redis.from_url(redis_url)  # not decoding: values still come back as str
        store = RedisStateStore.from_client(client, prefix="cxtest-from-client")
        try:
            await store.set(CONVERSATION, "é", SHORT)
            assert await store.get(CONVERSATION) == "é"
            assert store.url == redis_url
        finally:
            await store.delete(CONVERSATION)
            await store.close()

    async def test_a_burst_waits_for_a_free_connection_instead_of_failing(
        self, redis_url: str
    ) -> None:
        store = RedisStateStore(redis_url, prefix="cxtest-pool", max_connections=3)
        try:
            # 200 at once on 3 connections: each waits its turn (redis-py's default pool
            # raised MaxConnectionsError beyond its size).
            values = await asyncio.gather(
                *(store.set(key("burst", i), str(i), SHORT) for i in range(200))
            )
            assert len(values) == 200
            assert await store.get(key("burst", 199)) == "199"
        finally:
            await store.close()

    async def test_a_burst_of_surveys_answered_on_two_connections_loses_nothing(
        self, redis_url: str
    ) -> None:
        # Each answer takes its survey's lock with a read, then releases it with a write:
        # two commands, each taking a connection and giving it back, while others wait.
        store = RedisStateStore(redis_url, prefix="cxtest-pool-locks", max_connections=2)
        surveys = [key("conv", i) for i in range(300)]

        async def answer(i: int) -> None:
            async with store.lock(key("lock", i), timeout=5.0, read=surveys[i]) as locked:
                locked.set_on_release({surveys[i]: f"answered {i}"}, 5.0)

        try:
            await asyncio.gather(*(answer(i) for i in range(300)))
            assert [await store.get(k) for k in surveys] == [f"answered {i}" for i in range(300)]
        finally:
            for k in surveys:
                await store.delete(k)
            await store.close()

    async def test_an_unreachable_redis_is_named_in_the_error(self) -> None:
        store = RedisStateStore("redis://:s3cret@127.0.0.1:1/0")
        try:
            with pytest.raises(StateStoreUnavailable) as caught:
                await store.ping()
            with pytest.raises(StateStoreUnavailable):
                await store.get(CONVERSATION)
            with pytest.raises(StateStoreUnavailable):
                async with store.lock(CONVERSATION, timeout=SHORT):
                    pass
        finally:
            await store.close()
        message = str(caught.value)
        assert "redis://:***@127.0.0.1:1/0" in message
        assert "s3cret" not in message
        assert "redis-server" in message


class TestMemoryStateStore:
    async def test_unused_locks_are_forgotten(self) -> None:
        store = MemoryStateStore()
        async with store.lock(CONVERSATION):
            pass
        with pytest.raises(StateLockTimeout):
            async with store.lock(key("a")), store.lock(key("a"), timeout=0.01):
                pass
        assert store._locks == {}

    async def test_expired_claims_do_not_pile_up(self) -> None:
        store = MemoryStateStore()
        for update_id in range(100):
            await store.claim(key("telegram-update", update_id), 0.01)
        await asyncio.sleep(0.05)
        await store.claim(key("telegram-update", "next"), 60)
        assert len(store._values) == 1


async def test_open_state_store_picks_redis_only_with_a_url(redis_url: str) -> None:
    assert isinstance(open_state_store(None), MemoryStateStore)
    assert isinstance(open_state_store(""), MemoryStateStore)
    redis_store = open_state_store(redis_url, prefix="cxtest")
    try:
        assert isinstance(redis_store, RedisStateStore)
        assert redis_store.prefix == "cxtest"
        await redis_store.ping()
    finally:
        await redis_store.close()
