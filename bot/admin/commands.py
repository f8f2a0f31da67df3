"""The admin commands, one parser and dispatcher for every channel: who may run what, and the
reply (text plus photos and documents) that the channel then shows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from bot.admin.access import Access, Role
from bot.admin.privacy import PrivacyCommands
from bot.admin.replies import NOT_ALLOWED, Actor, AdminReply
from bot.admin.results import ResultCommands
from bot.admin.rules import RuleCommands, TriggerCommands
from bot.agents.directory import AgentDirectory
from bot.alerts import DetractorAlerts, Thresholds
from bot.digests.commands import DigestCommands
from storage.clock import utcnow
from storage.db import Database
from storage.state import BaseStateStore
from surveys.catalog import Catalog

# What every period/filter accepts, shown in /help.
PERIODS = "PERIOD: 7d, 30d, 90d, a month 2026-10, or 2026-09-01..2026-10-15 (default: 30d)"
FILTERS = "FILTERS: survey=ID channel=telegram|slack team=T agent=A tag=X language=en"


Handler = Callable[[Actor, Role, str], Awaitable[AdminReply]]


@dataclass(frozen=True)
class Spec:
    """One admin command: its usage, an example, what it does, and whether leads may run it."""

    name: str
    usage: str
    example: str
    summary: str
    admin_only: bool = False


SPECS: tuple[Spec, ...] = (
    Spec("help", "help", "help", "this list"),
    Spec(
        "nps",
        "nps [PERIOD] [FILTERS]",
        "nps 30d team=billing",
        "NPS: split, response rate, change, margin of error, best/worst, chart",
    ),
    Spec("csat", "csat [PERIOD] [FILTERS]", "csat 2026-10 agent=ana", "the same for CSAT"),
    Spec("ces", "ces [PERIOD] [FILTERS]", "ces 90d channel=slack", "the same for CES"),
    Spec("report", "report [PERIOD] [FILTERS]", "report 7d", "NPS, CSAT and CES with charts"),
    Spec(
        "comments",
        "comments [detractors] [page=N] [PERIOD] [FILTERS]",
        "comments detractors 30d",
        "latest comments with score, case and agent",
    ),
    Spec(
        "export",
        "export [PERIOD] [FILTERS]",
        "export 2026-09-01..2026-10-15 survey=nps",
        "the answers as a CSV file",
    ),
    Spec(
        "journey",
        "journey [PERIOD] [FILTERS]",
        "journey 90d team=billing",
        "each touchpoint's scores in journey order, the friction point, chart",
    ),
    Spec(
        "digest",
        "digest [daily HH:MM | weekly DAY HH:MM] [FILTERS] | digest off",
        "digest weekly mon 09:00 team=billing",
        "post the report to this chat on schedule; alone: its digests; off: stop them",
    ),
    Spec("followups", "followups", "followups", "open detractor follow-ups and their age"),
    Spec("me", "me [PERIOD]", "me 30d", "an agent's own scores and comments (CXBOT_AGENTS)"),
    Spec(
        "triggers",
        "triggers [pause ID | resume ID]",
        "triggers pause closed-cases",
        "the trigger rules; pause or resume one",
        admin_only=True,
    ),
    Spec("why", "why CASE_ID", "why T-1042", "what cxbot decided about a case's events"),
    Spec(
        "forget",
        "forget CHANNEL ID",
        "forget telegram 12345",
        "delete a customer's comments and identity (scores stay)",
        admin_only=True,
    ),
    Spec("retention", "retention", "retention", "how long comments are kept; last purge"),
)
COMMANDS: dict[str, Spec] = {spec.name: spec for spec in SPECS}
# Commands of the survey flow that stay there whoever sends them.
SURVEY_COMMANDS = frozenset({"start"})


def split_command(text: str) -> tuple[str, str]:
    """``"nps 30d team=billing"`` -> ``("nps", "30d team=billing")``; tolerates a leading /
    and a Telegram ``@botname`` on the command word."""
    word, _, rest = text.strip().partition(" ")
    word = word.lstrip("/").split("@", 1)[0].lower()
    return word, rest.strip()


def prefix(channel: str) -> str:
    """How a command is typed on ``channel``: ``/nps`` in Telegram, ``/cx nps`` in Slack."""
    return "/cx " if channel == "slack" else "/"


def help_text(actor: Actor, role: Role) -> str:
    """The commands this role may run, each with an example as typed on the actor's channel."""
    typed = prefix(actor.channel)
    head = "cxbot commands" + ("" if role.is_admin else f" ({role.describe()}: their data only)")
    lines = [head]
    for spec in SPECS:
        if spec.admin_only and not role.is_admin:
            continue
        lines.append(f"{typed}{spec.usage} — {spec.summary}")
        if spec.example != spec.usage:
            lines.append(f"    e.g. {typed}{spec.example}")
    lines.append(f"{typed}forget — forget yourself (anyone may)")
    lines.append(f"{typed}whoami — your id here, for CXBOT_ADMINS (anyone may)")
    lines.append(PERIODS)
    lines.append(FILTERS)
    return "\n".join(lines)


def whoami_text(actor: Actor, role: Role | None) -> str:
    """Who the sender is to cxbot: the id that CXBOT_ADMINS names, and their role now."""
    name = "Telegram" if actor.channel == "telegram" else actor.channel.capitalize()
    entry = f"{actor.channel}:{actor.user_id}"
    lines = [f"Your {name} user id: {actor.user_id}"]
    if role is None:
        lines.append(f"You are not in CXBOT_ADMINS. To be an admin, add {entry} to it.")
    else:
        lines.append(f"You are {role.describe()} ({entry} in CXBOT_ADMINS).")
    return "\n".join(lines)


class AdminCommands:
    """Parses a command line and answers it for an actor, on any channel.

    Non-admins get NOT_ALLOWED for every admin command, whatever its arguments (nothing
    about whether data exists); team leads see their teams only. Anyone may forget themselves.
    """

    def __init__(
        self,
        access: Access,
        handlers: dict[str, Handler],
        forget_self: Callable[[Actor], Awaitable[AdminReply]],
        *,
        clock: Callable[[], datetime],
        agents: AgentDirectory | None = None,
        me: Callable[[Actor, str, str], Awaitable[AdminReply]] | None = None,
        results: ResultCommands | None = None,
    ) -> None:
        self.access = access
        self.handlers = handlers
        self.forget_self = forget_self
        self.clock = clock
        self.agents = agents or AgentDirectory({})
        self.me = me
        self.results = results  # what digests post (bot.digests.Digests)

    def routes_here(self, actor: Actor, text: str) -> bool:
        """Should this command line come to the admin commands rather than the survey flow?

        True for ``forget`` and ``whoami`` (anyone); for every command of an admin or lead but
        ``start`` (a mistyped one is answered "unknown command", not with the customers'
        help); and for the admin commands themselves (a stranger is told NOT_ALLOWED). A
        stranger's ``help`` or ``start`` stays with the survey flow.
        """
        name, _ = split_command(text)
        if name in ("forget", "whoami"):
            return True
        if name == "me" and self.agents.agent_of(actor.channel, actor.user_id) is not None:
            return True
        if self.access.role(actor.channel, actor.user_id) is not None:
            return bool(name) and name not in SURVEY_COMMANDS
        return name in COMMANDS and name != "help"

    async def handle(self, actor: Actor, text: str) -> AdminReply:
        """Answer ``text`` (the command line without the leading ``/`` or ``/cx``)."""
        name, args = split_command(text)
        if name == "forget" and not args:
            return await self.forget_self(actor)
        if name == "me":
            # An agent's own figures, whether or not they are in CXBOT_ADMINS.
            agent = self.agents.agent_of(actor.channel, actor.user_id)
            if agent is None or self.me is None:
                return AdminReply(NOT_ALLOWED)
            return await self.me(actor, agent, args)
        role = self.access.role(actor.channel, actor.user_id)
        if name == "whoami":
            return AdminReply(whoami_text(actor, role))
        if role is None:
            return AdminReply(NOT_ALLOWED)
        spec = COMMANDS.get(name)
        if spec is None:
            typed = prefix(actor.channel)
            return AdminReply(f"unknown command {name!r}; {typed}help lists the commands")
        if spec.admin_only and not role.is_admin:
            return AdminReply(NOT_ALLOWED)
        if name == "help":
            return AdminReply(help_text(actor, role))
        return await self.handlers[name](actor, role, args)


def admin_commands(
    access: Access,
    *,
    database: Database,
    state: BaseStateStore,
    catalog: Catalog,
    triggers: TriggerCommands | None,
    min_n: int,
    retention_days: int | None,
    report_timezone: str = "UTC",
    journey_order: Callable[[], Sequence[str]] = tuple,
    thresholds: Thresholds | None = None,
    alerts: DetractorAlerts | None = None,
    clock: Callable[[], datetime] = utcnow,
    agents: AgentDirectory | None = None,
) -> AdminCommands:
    """Every admin command, wired to this installation's parts."""
    results = ResultCommands(
        database,
        catalog,
        min_n=min_n,
        clock=clock,
        thresholds=thresholds,
        timezone=report_timezone,
        journey_order=journey_order,
    )
    privacy = PrivacyCommands(
        database,
        state,
        retention_days=retention_days,
        clock=clock,
        on_forget=alerts.forgotten if alerts is not None else None,
    )
    rules = RuleCommands(triggers, database)
    digests = DigestCommands(database, catalog, clock=clock, timezone=report_timezone)
    handlers: dict[str, Handler] = {
        "nps": partial(results.score, command="nps"),
        "csat": partial(results.score, command="csat"),
        "ces": partial(results.score, command="ces"),
        "report": results.report,
        "comments": results.comments,
        "export": results.export,
        "journey": results.journey,
        "digest": digests.digest,
        "followups": results.followups,
        "triggers": rules.triggers_command,
        "why": rules.why,
        "forget": privacy.forget_customer,
        "retention": privacy.retention,
    }
    missing = set(COMMANDS) - set(handlers) - {"help", "me"}
    assert not missing, f"commands without a handler: {sorted(missing)}"
    return AdminCommands(
        access,
        handlers,
        privacy.forget_self,
        clock=clock,
        agents=agents,
        me=results.me,
        results=results,
    )
