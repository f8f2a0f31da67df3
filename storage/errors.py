"""Errors raised by the storage package, all rooted at StorageError."""

from urllib.parse import urlsplit, urlunsplit

POSTGRES_START_HINT = (
    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start  "
    "(or: docker run -d -p 5432:5432 "
    "-e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:15)"
)
REDIS_START_HINT = (
    "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no  "
    "(or: docker run -d -p 6379:6379 redis:7)"
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
            message = (
                f"PostgreSQL at {self.url} is unreachable ({cause}); "
                f"start it locally with: {POSTGRES_START_HINT}"
            )
        super().__init__(message)


class StateStoreUnavailable(StorageError):
    """The Redis state store cannot be reached."""

    def __init__(self, url: str, cause: str) -> None:
        self.url = mask_url(url)
        self.cause = cause
        super().__init__(
            f"Redis at {self.url} is unreachable ({cause}); "
            f"start it locally with: {REDIS_START_HINT}"
        )


class StateLockTimeout(StorageError):
    """A state-store lock was not acquired within its timeout."""

    def __init__(self, key: str, timeout: float) -> None:
        self.key = key
        self.timeout = timeout
        super().__init__(f"lock on {key!r} not acquired within {timeout:g} s")
