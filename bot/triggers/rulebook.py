"""The rules file: loaded at start, reloaded when it changes, replaced through the API."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from bot.triggers.errors import RulesNotConfigured
from surveys.errors import InvalidRules
from surveys.rules import RuleSet, load_rules, parse_rules
from surveys.ruleset import KnownSurveys

log = logging.getLogger(__name__)

# How often, at most, the file's modification time is looked at.
CHECK_EVERY_S = 1.0
BODY_SOURCE = "request body"

Stamp = tuple[int, int, int]  # mtime_ns, size, inode: a rename-over changes the inode


class RuleBook:
    """The last good rules of `path` (None: no rules file, every event is suppressed).

    A broken edit keeps the last good rules and is reported in `error` until fixed.
    """

    def __init__(
        self,
        path: Path | None,
        known_surveys: KnownSurveys,
        *,
        check_every: float = CHECK_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        # Survey ids, or ids with their languages (then rule languages are checked too).
        self.known_surveys: KnownSurveys = (
            dict(known_surveys) if isinstance(known_surveys, Mapping) else frozenset(known_surveys)
        )
        self.check_every = check_every
        self.clock = clock
        self.error: str | None = None
        self._rules = RuleSet()
        self._stamp: Stamp | None = None
        self._checked_at = float("-inf")

    @classmethod
    def load(cls, path: Path | None, known_surveys: KnownSurveys) -> RuleBook:
        """The rule book of `path`, read now; InvalidRules (file:line: message) if it is broken."""
        book = cls(path, known_surveys)
        if path is not None:
            try:
                stamp: Stamp | None = _stamp(path)  # before reading: a change meanwhile shows
            except OSError:
                stamp = None  # load_rules says what is wrong with the file
            book._rules = load_rules(path, book.known_surveys)
            book._stamp = stamp
            book._checked_at = book.clock()
        return book

    def rules(self) -> RuleSet:
        """The current rules, re-read first if the file changed (checked once a second)."""
        if self.path is not None and self.clock() - self._checked_at >= self.check_every:
            self.reload()
        return self._rules

    async def watch(self) -> None:
        """Look at the file every `check_every` seconds until cancelled, so that an edit is
        taken up (or a broken one logged) at once, not only when the next event comes."""
        while True:
            await asyncio.sleep(self.check_every)
            self.rules()

    def reload(self, *, force: bool = False) -> None:
        """Read the file again if it changed (or `force`); keep the last good rules if broken."""
        if self.path is None:
            return
        self._checked_at = self.clock()
        try:
            stamp = _stamp(self.path)
        except OSError as failure:
            self._broken(f"{self.path}: cannot read the rules file ({failure.strerror})", None)
            return
        if stamp == self._stamp and not force:
            return
        try:
            rules = load_rules(self.path, self.known_surveys)
        except InvalidRules as failure:
            self._broken(str(failure), stamp)
            return
        self._rules, self._stamp, self.error = rules, stamp, None
        log.info("rules reloaded from %s: %s", self.path, ", ".join(rules.ids) or "none")

    def parse(self, text: str) -> RuleSet:
        """Rules from YAML (or JSON) text, checked as a file would be; InvalidRules if not."""
        return parse_rules(text, BODY_SOURCE, self.known_surveys, require_list=True)

    def replace(self, text: str) -> RuleSet:
        """Check `text`, write it over the rules file (atomically) and use it from now on."""
        if self.path is None:
            raise RulesNotConfigured()
        rules = self.parse(text)
        if _is_json(text):
            text = rules.to_yaml()  # the file stays YAML for the people who edit it
        _write_atomically(self.path, text)
        self._rules, self._stamp, self.error = rules, _stamp(self.path), None
        self._checked_at = self.clock()
        return rules

    def _broken(self, message: str, stamp: Stamp | None) -> None:
        if message != self.error:
            log.error("rules file not reloaded, keeping the last good rules: %s", message)
        self.error = message
        self._stamp = stamp


def _stamp(path: Path) -> Stamp:
    found = path.stat()
    return (found.st_mtime_ns, found.st_size, found.st_ino)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _write_atomically(path: Path, text: str) -> None:
    # A reader (another process) sees the old file or the new one, never half of one.
    folder = path.parent
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
