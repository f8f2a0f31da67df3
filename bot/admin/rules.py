"""Trigger commands in chat: list, pause and resume rules (admins), and ``why CASE``."""

from __future__ import annotations

from typing import Protocol

from bot.admin.access import Role
from bot.admin.replies import NOT_ALLOWED, Actor, AdminReply
from storage.cases import case_teams
from storage.db import Database


class TriggerCommands(Protocol):
    """What the trigger rules give chat commands (bot.triggers.service.Triggers)."""

    async def rules_text(self) -> str: ...

    async def set_paused(self, rule_id: str, paused: bool, actor: str) -> str: ...

    async def why_text(self, case_id: str) -> str: ...


def _typed(actor: Actor) -> str:
    return "/cx " if actor.channel == "slack" else "/"


class RuleCommands:
    """``triggers [pause ID | resume ID]`` and ``why CASE_ID``."""

    def __init__(self, triggers: TriggerCommands | None, database: Database) -> None:
        self.triggers = triggers
        self.database = database

    async def triggers_command(self, actor: Actor, role: Role, args: str) -> AdminReply:
        if self.triggers is None:
            return AdminReply("trigger rules are not available in this process")
        words = args.split()
        if not words:
            return AdminReply(await self.triggers.rules_text())
        action = words[0].lower()
        if action in ("pause", "resume") and len(words) == 2:
            paused = action == "pause"
            return AdminReply(await self.triggers.set_paused(words[1], paused, actor.label))
        typed = _typed(actor)
        return AdminReply(
            f"usage: {typed}triggers, {typed}triggers pause RULE_ID or "
            f"{typed}triggers resume RULE_ID, e.g. {typed}triggers pause closed-cases"
        )

    async def why(self, actor: Actor, role: Role, args: str) -> AdminReply:
        case_id = args.strip()
        if not case_id or len(case_id.split()) != 1:
            typed = _typed(actor)
            return AdminReply(f"usage: {typed}why CASE_ID, e.g. {typed}why T-1042")
        if self.triggers is None:
            return AdminReply("trigger rules are not available in this process")
        if not role.is_admin:
            # A lead sees a case only when every invitation and event of it is their teams'.
            async with self.database.session() as session:
                teams = await case_teams(session, case_id)
            if not all(role.allows(team) for team in teams):
                return AdminReply(NOT_ALLOWED)
        return AdminReply(await self.triggers.why_text(case_id))
