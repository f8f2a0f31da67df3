"""Private PostgreSQL servers: one that checks passwords (the shared one trusts every local
login), and one a test stops and starts again (OwnPostgres).

Started with the machine's own binaries on a free port and stopped by its pid; as root, it
runs as the `postgres` user, since initdb refuses root.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for folder in versions:
        if (folder / name).exists():
            return str(folder / name)
    raise AssertionError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def password_postgres(user: str, password: str) -> Iterator[int]:
    """A server whose only role is ``user`` with ``password`` (scram); yields its port."""
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="cxtest-pg-"))
    (folder / "pw").write_text(password)
    if as_postgres:
        shutil.chown(folder, "postgres")
        shutil.chown(folder / "pw", "postgres")
    data = folder / "data"
    subprocess.run(
        [
            *as_postgres,
            _bin("initdb"),
            "-D",
            str(data),
            "-U",
            user,
            f"--pwfile={folder / 'pw'}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = _free_port()
    server = subprocess.Popen(
        [
            *as_postgres,
            _bin("postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(folder),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(
            [_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"], check=False
        ).returncode:
            if time.monotonic() > deadline or server.poll() is not None:
                raise AssertionError("the private PostgreSQL did not start")
            time.sleep(0.1)
        yield port
    finally:
        subprocess.run(  # fast shutdown: no waiting for checkpoints or clients
            [*as_postgres, _bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
            timeout=60,
        )
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


class OwnPostgres:
    """A PostgreSQL server of a test's own (trust auth, user ``postgres``), to stop and start
    again on the same port with its data kept, as a restart or an outage does to cxbot."""

    def __init__(self) -> None:
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.folder = Path(tempfile.mkdtemp(prefix="cxtest-pg-"))
        if self._as_postgres:
            shutil.chown(self.folder, "postgres")
        self.data = self.folder / "data"
        self.port = _free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        self._server: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if not self.data.exists():
            subprocess.run(
                [
                    *self._as_postgres,
                    *(_bin("initdb"), "-D", str(self.data), "-U", "postgres"),
                    *("--auth=trust", "-E", "UTF8", "--no-sync"),
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
        self._server = subprocess.Popen(
            [
                *self._as_postgres,
                *(_bin("postgres"), "-D", str(self.data), "-p", str(self.port)),
                *("-k", str(self.folder), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while subprocess.run(
            [_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"], check=False
        ).returncode:
            if time.monotonic() > deadline or self._server.poll() is not None:
                raise AssertionError("the test's own PostgreSQL did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        """Fast shutdown, as `docker compose restart postgres` does: clients are cut off."""
        if self._server is None:
            return
        # Its shutdown checkpoint took over 60 s once on this loaded machine: after 10 s the
        # server is stopped at once instead (a crash, as far as clients see the same cut).
        for mode, seconds in (("fast", "10"), ("immediate", "30")):
            stopped = subprocess.run(
                [
                    *self._as_postgres,
                    *(_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", seconds),
                    "stop",
                ],
                check=False,
                capture_output=True,
                timeout=60,
            )
            if stopped.returncode == 0:
                break
        self._server.wait(timeout=30)
        self._server = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
