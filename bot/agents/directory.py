"""CXBOT_AGENTS: which chat each agent is reached at, read both ways (agent -> chat, chat -> agent).

`ana=telegram:123456, bob=slack:U0BOB`: the name is the agent as the help desk sends it (the
invitation's `agent`), then the channel and the agent's own user id there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import BotError
from bot.telegram_ids import telegram_id

__all__ = ["AgentDirectory", "InvalidAgents"]

CHANNELS = ("telegram", "slack")
_ENTRY = re.compile(r"(?P<name>[^=]+)=(?P<channel>[a-z]+):(?P<user>\S+)")


class InvalidAgents(BotError, ValueError):
    """A CXBOT_AGENTS entry that cannot be read; the message names it."""


@dataclass(frozen=True)
class AgentDirectory:
    """Agents by name and by (channel, user id); empty when CXBOT_AGENTS is unset."""

    chats: dict[str, tuple[str, str]]

    @classmethod
    def parse(cls, text: str) -> AgentDirectory:
        chats: dict[str, tuple[str, str]] = {}
        for raw in text.split(","):
            entry = raw.strip()
            if not entry:
                continue
            match = _ENTRY.fullmatch(entry)
            if match is None:
                raise InvalidAgents(
                    f"{entry!r} is not NAME=CHANNEL:USER_ID (e.g. ana=telegram:123456)"
                )
            name, channel, user = match["name"].strip(), match["channel"], match["user"]
            if channel not in CHANNELS:
                raise InvalidAgents(f"{entry!r}: the channel is one of {', '.join(CHANNELS)}")
            if channel == "telegram":
                try:
                    if telegram_id(user) < 0:
                        raise ValueError("must be a user's id (positive), not a group's")
                except ValueError as error:
                    raise InvalidAgents(f"{entry!r}: the Telegram user id {error}") from None
            if name in chats:
                raise InvalidAgents(f"agent {name!r} is given twice")
            if (channel, user) in chats.values():
                raise InvalidAgents(f"{channel}:{user} is given for two agents")
            chats[name] = (channel, user)
        return cls(chats)

    def address_of(self, agent: str | None) -> tuple[str, str] | None:
        """(channel, user id) of the agent named on a case, if CXBOT_AGENTS has them."""
        return self.chats.get(agent) if agent is not None else None

    def agent_of(self, channel: str, user: str) -> str | None:
        """The agent this chat user is, if any."""
        return next((name for name, chat in self.chats.items() if chat == (channel, user)), None)
