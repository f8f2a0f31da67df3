"""Who may run admin commands: CXBOT_ADMINS parsed into admins and team leads."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from bot.admin.errors import InvalidAdmins
from bot.telegram_ids import LARGEST

# How each channel spells a user id: Telegram numbers, Slack member ids (U…/W…).
USER_ID = {
    "telegram": re.compile(r"^[1-9][0-9]{0,19}$"),
    "slack": re.compile(r"^[UW][A-Z0-9]{2,20}$"),
}
TEAM = re.compile(r"^[^\s,|@]{1,128}$")


@dataclass(frozen=True)
class Role:
    """An admin (``teams`` None: every team's data) or a team lead limited to ``teams``."""

    teams: frozenset[str] | None = None

    @property
    def is_admin(self) -> bool:
        return self.teams is None

    def allows(self, team: str | None) -> bool:
        """May this role see data of ``team`` (None: data of any team)?"""
        if self.teams is None:
            return True
        return team is not None and team in self.teams

    def describe(self) -> str:
        return "admin" if self.teams is None else "team lead of " + ", ".join(sorted(self.teams))


ADMIN = Role()


@dataclass(frozen=True)
class Access:
    """The admins and team leads of this installation, by (channel, user id)."""

    roles: Mapping[tuple[str, str], Role] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def parse(cls, text: str) -> Access:
        """Read CXBOT_ADMINS: entries separated by commas or whitespace.

        ``telegram:123456`` and ``slack:U012ABC`` are admins; ``telegram:777@billing`` and
        ``slack:U9ABC@billing|support`` are team leads of those teams. An id listed twice gets
        the wider role (an admin entry wins; a lead's teams add up). Raises InvalidAdmins.
        """
        roles: dict[tuple[str, str], Role] = {}
        for entry in _entries(text):
            channel, user_id, role = _entry(entry)
            known = roles.get((channel, user_id))
            roles[(channel, user_id)] = role if known is None else _wider(known, role)
        return cls(MappingProxyType(roles))

    def role(self, channel: str, user_id: str) -> Role | None:
        """The role of this user, or None: not allowed to run admin commands."""
        return self.roles.get((channel, user_id))

    def __len__(self) -> int:
        return len(self.roles)


def _entries(text: str) -> Iterable[str]:
    return (entry for entry in re.split(r"[\s,]+", text.strip()) if entry)


def _entry(entry: str) -> tuple[str, str, Role]:
    channel, sep, rest = entry.partition(":")
    channel = channel.lower()
    if not sep or not rest:
        raise InvalidAdmins(entry, "write CHANNEL:USER_ID")
    if channel not in USER_ID:
        raise InvalidAdmins(entry, f"unknown channel {channel!r}; use telegram or slack")
    user_id, at, teams_text = rest.partition("@")
    if not USER_ID[channel].match(user_id) or (channel == "telegram" and int(user_id) > LARGEST):
        what = (
            f"a number from 1 to {LARGEST}" if channel == "telegram" else "a member id like U012ABC"
        )
        raise InvalidAdmins(entry, f"a {channel} user id is {what}")
    if not at:
        return channel, user_id, ADMIN
    teams = teams_text.split("|")
    for team in teams:
        if not TEAM.match(team):
            raise InvalidAdmins(entry, "teams after @ are names separated by |")
    return channel, user_id, Role(frozenset(teams))


def _wider(first: Role, second: Role) -> Role:
    if first.teams is None or second.teams is None:
        return ADMIN
    return Role(first.teams | second.teams)
