"""Wires cxbot's parts together once, from the settings: the only place that builds them."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.admin.access import Access
from bot.admin.commands import AdminCommands, admin_commands
from bot.agents import AgentDirectory, PromoterComments
from bot.alerts import AlertBoard, AlertError, AlertsNotConfigured, DetractorAlerts, Thresholds
from bot.channel import Channel
from bot.delivery import Delivery, open_delivery
from bot.digests import DigestPoster, Digests
from bot.digests.slack import SlackDigests
from bot.digests.telegram import TelegramDigests
from bot.digests.turns import shared_turns
from bot.health import Check, Probes
from bot.helpdesks.base import HelpDesk
from bot.helpdesks.pace import WritePace
from bot.helpdesks.registry import helpdesks
from bot.helpdesks.writes import TicketWrites
from bot.invite import InvitationRequest, Receipt, invite
from bot.metrics.wiring import count_answers, count_rate_limits
from bot.runner import SurveyRunner
from bot.settings import Settings
from bot.slack import SlackService
from bot.slack.alerts import SlackAlerts
from bot.telegram import TelegramService
from bot.telegram.alerts import TelegramAlerts
from bot.triggers import RuleBook, Triggers
from storage.db import Database
from storage.state import BaseStateStore, open_state_store
from storage.tables import Invitation
from surveys.catalog import Catalog


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    database: Database
    state: BaseStateStore
    channels: dict[str, Channel]
    runner: SurveyRunner
    delivery: Delivery
    telegram: TelegramService | None
    slack: SlackService | None = None
    alerts: DetractorAlerts | None = None
    triggers: Triggers = field(kw_only=True)
    admin: AdminCommands | None = field(default=None, kw_only=True)
    helpdesks: list[HelpDesk] = field(default_factory=list, kw_only=True)
    ticket_writes: TicketWrites | None = field(default=None, kw_only=True)
    praise: PromoterComments | None = field(default=None, kw_only=True)
    digests: Digests | None = field(default=None, kw_only=True)
    probes: Probes = field(init=False)

    def __post_init__(self) -> None:
        checks: dict[str, Check] = {"database": self.database.ping, "state": self.state.ping}
        if self.delivery.embedded:  # this process sends: ready only while its worker runs
            checks["queue"] = self.delivery.check_worker
        self.probes = Probes(checks)

    async def invite(self, request: InvitationRequest) -> Receipt:
        """Store an invitation (once per case + survey) with this installation's parts."""
        return await invite(
            request, catalog=self.catalog, database=self.database, channels=self.channels
        )

    async def link(self, invitation: Invitation) -> str | None:
        """The invitation's link for the customer to open (Telegram), or None."""
        if self.telegram is None:
            return None
        return await self.telegram.links.link(invitation)

    async def close(self) -> None:
        await self.triggers.stop()
        if self.digests is not None:
            await self.digests.stop()
        if self.ticket_writes is not None:  # writes being queued need the queue open
            await self.ticket_writes.drain()
        await self.delivery.stop()
        if self.ticket_writes is not None:  # after delivery: no write job is running now
            await self.ticket_writes.close()
        if self.alerts is not None:  # alerts still being posted need the channels open
            await self.alerts.close()
        if self.praise is not None:
            await self.praise.close()
        if self.telegram is not None:
            await self.telegram.stop()
        if self.slack is not None:
            await self.slack.stop()
        await self.state.close()
        await self.database.dispose()


def detractor_alerts(
    settings: Settings,
    database: Database,
    telegram: TelegramService | None,
    slack: SlackService | None,
) -> DetractorAlerts | None:
    """The alerts listener when an alert chat is set; AlertsNotConfigured if its channel is off."""
    boards: list[AlertBoard] = []
    if settings.alert_telegram_chat is not None:
        if telegram is None:
            raise AlertsNotConfigured(
                "CXBOT_ALERT_TELEGRAM_CHAT is set but Telegram is off: set TELEGRAM_BOT_TOKEN"
            )
        boards.append(TelegramAlerts(telegram.bot, settings.alert_telegram_chat))
    if settings.alert_slack_channel is not None:
        if slack is None:
            raise AlertsNotConfigured(
                "CXBOT_ALERT_SLACK_CHANNEL is set but Slack is off: set SLACK_BOT_TOKEN and "
                "SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN)"
            )
        boards.append(SlackAlerts(slack.client, settings.alert_slack_channel))
    if not boards:
        return None
    return DetractorAlerts(database, boards, thresholds(settings))


def thresholds(settings: Settings) -> Thresholds:
    """What counts as a detractor: alerts and ``comments detractors`` alike."""
    return Thresholds(
        nps=settings.alert_nps_max, csat=settings.alert_csat_max, ces=settings.alert_ces_max
    )


async def open_services(
    settings: Settings, *, migrate: bool = True, extra_channels: dict[str, Channel] | None = None
) -> Services:
    """Check the servers answer, bring the schema up to date and build every component.

    Raises InvalidSurveyDefinition, DatabaseUnavailable or StateStoreUnavailable with a
    message meant for the person starting cxbot.
    """
    catalog = Catalog.load(settings.surveys_dir)
    # A broken rules file stops the start (InvalidRules: file:line: message).
    rulebook = RuleBook.load(settings.rules_path, catalog.languages())
    # A bad CXBOT_ADMINS entry stops the start too (InvalidAdmins names it).
    access = Access.parse(settings.admins)
    # So does a bad CXBOT_HELPDESK_WRITE_RATE (InvalidRate).
    write_rate = WritePace.rate_of(settings.helpdesk_write_rate)
    database = Database(settings.database_url)
    state = open_state_store(
        settings.redis_url,
        prefix=settings.redis_prefix,
        max_connections=settings.redis_max_connections,
    )
    try:
        await database.ping()
        await state.ping()
        if migrate:
            await database.upgrade()
    except BaseException:
        await state.close()
        await database.dispose()
        raise
    channels: dict[str, Channel] = dict(extra_channels or {})
    telegram = None
    if settings.telegram_bot_token is not None:
        telegram = TelegramService(settings, settings.telegram_bot_token.get_secret_value())
        channels[telegram.channel.name] = telegram.channel
    slack = None
    if settings.slack_bot_token is not None and (
        settings.slack_signing_secret is not None or settings.slack_app_token is not None
    ):
        slack = SlackService(settings, settings.slack_bot_token.get_secret_value())
        channels[slack.channel.name] = slack.channel
    try:
        alerts = detractor_alerts(settings, database, telegram, slack)
    except AlertError:
        await state.close()
        await database.dispose()
        raise
    runner = SurveyRunner(catalog, database, state, channels)
    if alerts is not None:
        runner.listeners.append(alerts)
    try:  # InvalidRate for a bad CXBOT_*_RATE; PostgreSQL refusing the job queue
        delivery = await open_delivery(settings, runner, database, telegram=telegram, slack=slack)
    except BaseException:
        await state.close()
        await database.dispose()
        raise
    count_answers(runner)
    count_rate_limits(telegram, slack)
    links = telegram.links.link if telegram is not None else None
    desks = helpdesks(settings)
    writes = None
    if any(desk.writes_back for desk in desks):
        writes = TicketWrites(
            {desk.name: desk for desk in desks},
            database,
            delivery.queue,
            thresholds(settings),
            links=links,
            pace=WritePace.open(write_rate, settings.redis_url, settings.redis_prefix),
        )
        writes.register(delivery.queue.app)
        runner.listeners.append(writes)
    runner.wiring.sent_listeners.append(delivery.jobs.follow_up)
    triggers = Triggers(
        rulebook, catalog, database, channels, delivery, links=links, replies=writes
    )
    agents = AgentDirectory.parse(settings.agents)
    praise = PromoterComments(database, agents, channels) if agents.chats else None
    if praise is not None:
        runner.listeners.append(praise)
    admin = admin_commands(
        access,
        database=database,
        state=state,
        catalog=catalog,
        triggers=triggers,
        min_n=settings.report_min_n,
        report_timezone=settings.report_timezone,
        journey_order=lambda: rulebook.rules().journey,
        retention_days=settings.retention_days,
        thresholds=thresholds(settings),
        alerts=alerts,
        agents=agents,
    )
    posters: dict[str, DigestPoster] = {}
    # Each digest message takes its turn in the rate limits the invitations share.
    if telegram is not None:
        posters["telegram"] = TelegramDigests(
            telegram.bot, shared_turns(delivery.limits, "telegram")
        )
    if slack is not None:
        posters["slack"] = SlackDigests(slack.client, shared_turns(delivery.limits, "slack"))
    assert admin.results is not None
    digests = Digests(database, access, admin.results, posters, timezone=settings.report_timezone)
    if telegram is not None:
        telegram.attach(runner, state, alerts=alerts, admin=admin)
    if slack is not None:
        slack.attach(runner, state, alerts=alerts, admin=admin)
    return Services(
        settings,
        catalog,
        database,
        state,
        channels,
        runner,
        delivery,
        telegram,
        slack,
        alerts,
        triggers=triggers,
        admin=admin,
        helpdesks=desks,
        ticket_writes=writes,
        praise=praise,
        digests=digests,
    )
