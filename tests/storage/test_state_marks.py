"""A lock taken `unless` a mark is set: how the answer path drops a redelivered event in the
same step as it takes the survey's lock, in memory and in Redis alike."""

import asyncio

import pytest

from storage.errors import StateLockTimeout
from storage.state import BaseStateStore, key

LOCK = key("lock", 7)
CONVERSATION = key("conv", 7)
POINTER = key("active", "telegram", 1001)
MARK = key("seen", "telegram", 1, 500)
SHORT = 0.2


async def assert_free(store: BaseStateStore) -> None:
    async with store.lock(LOCK, timeout=SHORT):
        pass


async def assert_held(store: BaseStateStore) -> None:
    with pytest.raises(StateLockTimeout):
        async with store.lock(LOCK, timeout=SHORT):
            pytest.fail("entered a held lock")


class TestLockUnlessMarked:
    async def test_without_the_mark_the_lock_is_taken_and_read(
        self, state_store: BaseStateStore
    ) -> None:
        await state_store.set(CONVERSATION, "step 1", None)
        async with state_store.lock(LOCK, read=CONVERSATION, unless=MARK) as locked:
            assert (locked.seen, locked.value) == (False, "step 1")
            await assert_held(state_store)
            locked.set_on_release({CONVERSATION: "step 2", MARK: "1"}, 60)
        assert await state_store.get(CONVERSATION) == "step 2"
        assert await state_store.get(MARK) == "1"
        await assert_free(state_store)

    async def test_with_the_mark_nothing_is_locked_read_or_written(
        self, state_store: BaseStateStore
    ) -> None:
        await state_store.set(CONVERSATION, "step 2", None)
        await state_store.set(MARK, "1", 60)
        for read in (CONVERSATION, None):
            async with state_store.lock(LOCK, read=read, unless=MARK) as locked:
                assert (locked.seen, locked.value) == (True, None)
                await assert_free(state_store)
        assert await state_store.get(CONVERSATION) == "step 2"

    async def test_a_redelivery_waiting_on_the_lock_finds_the_first_ones_mark(
        self, state_store: BaseStateStore
    ) -> None:
        holding, release = asyncio.Event(), asyncio.Event()

        async def first() -> None:
            async with state_store.lock(LOCK, read=CONVERSATION, unless=MARK) as locked:
                assert not locked.seen
                holding.set()
                await release.wait()
                locked.set_on_release({CONVERSATION: "answered", MARK: "1"}, 60)

        async def again() -> bool:
            async with state_store.lock(LOCK, read=CONVERSATION, unless=MARK) as locked:
                if not locked.seen:
                    locked.set_on_release({CONVERSATION: "answered twice"}, 60)
                return locked.seen

        handling = asyncio.create_task(first())
        await holding.wait()
        redelivered = asyncio.create_task(again())
        await asyncio.sleep(0.05)
        assert not redelivered.done()  # it waits for the first, it does not look and go
        release.set()
        await handling
        assert await redelivered is True
        assert await state_store.get(CONVERSATION) == "answered"
        await assert_free(state_store)

    async def test_a_pointed_lock_with_the_mark_looks_no_further(
        self, state_store: BaseStateStore
    ) -> None:
        await state_store.set(POINTER, "7", None)
        await state_store.set(CONVERSATION, "step 1", None)
        async with state_store.lock_pointed(POINTER, "lock", read="conv", unless=MARK) as locked:
            assert (locked.seen, locked.pointed, locked.value) == (False, "7", "step 1")
            await assert_held(state_store)
            locked.set_on_release({MARK: "1"}, 60)
        async with state_store.lock_pointed(POINTER, "lock", read="conv", unless=MARK) as locked:
            assert (locked.seen, locked.pointed, locked.value) == (True, None, None)
            await assert_free(state_store)

    async def test_without_a_pointer_the_mark_is_still_told(
        self, state_store: BaseStateStore
    ) -> None:
        async with state_store.lock_pointed(POINTER, "lock", unless=MARK) as locked:
            assert (locked.seen, locked.pointed) == (False, None)
        await state_store.set(MARK, "1", 60)
        async with state_store.lock_pointed(POINTER, "lock", unless=MARK) as locked:
            assert (locked.seen, locked.pointed) == (True, None)
