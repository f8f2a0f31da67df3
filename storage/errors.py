"""Errors raised by the storage package, all rooted at StorageError."""

from urllib.parse import urlsplit, urlunsplit

# Hosts where "start it here" is the right advice; elsewhere the server is someone else's.
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", ""})


def _where(url: str, default_port: int) -> tuple[str, int | None]:
    """The host and port `url` names (port None when it cannot be read)."""
    parts = urlsplit(url)
    try:
        port = parts.port or default_port
    except ValueError:
        port = None
    return parts.hostname or "", port


def _elsewhere(server: str, host: str, port: int | None) -> str | None:
    """The hint for a server that is not this machine's to start (None: it is)."""
    if port is None:
        return f"check the port in the {server} URL"
    if host not in _LOCAL_HOSTS:
        return f"check that {server} runs on {host} port {port} and that this machine reaches it"
    return None


def postgres_hint(url: str) -> str:
    """What to do about an unreachable PostgreSQL at `url`: start it, when it is this
    machine's, on the port `url` names; else check that host and port."""
    host, port = _where(url, 5432)
    return _elsewhere("PostgreSQL", host, port) or (
        "start it locally with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) "
        f"main start  (or: docker run -d -p {port}:5432 "
        "-e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:15)"
    )


def redis_hint(url: str) -> str:
    """What to do about an unreachable Redis at `url`, as postgres_hint() for PostgreSQL."""
    if url.startswith("unix:"):
        path = urlsplit(url).path
        return f"start it locally with: redis-server --daemonize yes --port 0 --unixsocket {path}"
    host, port = _where(url, 6379)
    bind = "::1" if host == "::1" else "127.0.0.1"
    return _elsewhere("Redis", host, port) or (
        f"start it locally with: redis-server --daemonize yes --bind {bind} --port {port} "
        f"--save '' --appendonly no  (or: docker run -d -p {port}:6379 redis:7)"
    )


def mask_url(url: str) -> str:
    """Return `url` with any password replaced by `***`, safe to log or show."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostinfo}"))


class StorageError(Exception):
    """Root of every error raised by `storage`."""


class DatabaseUnavailable(StorageError):
    """The SQL database cannot be reached or opened."""

    def __init__(self, url: str, cause: str) -> None:
        self.url = mask_url(url)
        self.cause = cause
        if url.startswith("sqlite"):
            message = (
                f"SQLite database at {self.url} cannot be opened ({cause}); "
                "check that its folder exists and is writable"
            )
        else:
            message = f"PostgreSQL at {self.url} is unreachable ({cause}); {postgres_hint(url)}"
        super().__init__(message)


class StateStoreUnavailable(StorageError):
    """The Redis state store cannot be reached."""

    def __init__(self, url: str, cause: str) -> None:
        self.url = mask_url(url)
        self.cause = cause
        super().__init__(f"Redis at {self.url} is unreachable ({cause}); {redis_hint(url)}")


class StateLockTimeout(StorageError):
    """A state-store lock was not acquired within its timeout."""

    def __init__(self, key: str, timeout: float) -> None:
        self.key = key
        self.timeout = timeout
        super().__init__(f"lock on {key!r} not acquired within {timeout:g} s")
