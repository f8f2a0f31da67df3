"""A redis-server of a test's own, on a free port, that the test can stop and start again."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket

from redis.asyncio import Redis


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class OwnRedis:
    """`redis-server` without persistence: stopped, it comes back empty (as after a restart,
    an eviction of everything or a failover to an empty replica). Stopped by its pid only."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed"
        self.process = await asyncio.create_subprocess_exec(
            binary,
            *("--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        client: Redis = Redis.from_url(self.url)
        try:
            for _ in range(250):
                try:
                    await client.ping()
                    return
                except Exception:  # redis-py's ConnectionError while it starts
                    await asyncio.sleep(0.02)
            raise AssertionError(f"redis-server on port {self.port} did not start")
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.process.wait(), 10)
        self.process = None

    async def clients(self) -> int:
        """Connected clients now (INFO clients), this one included."""
        client: Redis = Redis.from_url(self.url)
        try:
            info = await client.info("clients")
            return int(info["connected_clients"])
        finally:
            await client.aclose()
