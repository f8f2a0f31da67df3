"""Result commands: scores with charts, comments, CSV export and open follow-ups, each limited
to what the actor's role may see."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bot.admin.access import Role
from bot.admin.charts import report_chart
from bot.admin.journey_chart import journey_chart
from bot.admin.journey_text import journey_text
from bot.admin.replies import NOT_ALLOWED, Actor, AdminReply, Attachment
from bot.admin.report_text import comments_text, export_caption, report_text, summary_text
from bot.alerts import Thresholds, followups_text
from storage.db import Database
from storage.reports import (
    ScoreSummary,
    comments_page,
    export_csv,
    export_filename,
    journey,
    score_summary,
    weekly_trend,
)
from storage.reports.people import people_answering
from surveys.catalog import Catalog
from surveys.definitions import QuestionKind
from surveys.errors import ReportQueryError
from surveys.report_query import ReportQuery, parse_report_args, surveys_asking

# The channels a ``channel=`` filter may name.
CHANNELS = ("telegram", "slack")


def typed_prefix(actor: Actor) -> str:
    return "/cx " if actor.channel == "slack" else "/"


class ResultCommands:
    """``nps``, ``csat``, ``ces``, ``report``, ``comments``, ``export`` and ``followups``."""

    def __init__(
        self,
        database: Database,
        catalog: Catalog,
        *,
        min_n: int,
        clock: Callable[[], datetime],
        thresholds: Thresholds | None = None,
        export_dir: Path | None = None,
        timezone: str = "UTC",
        journey_order: Callable[[], Sequence[str]] = tuple,
    ) -> None:
        self.database = database
        self.catalog = catalog
        self.min_n = min_n
        self.clock = clock
        # "detractors" in /comments means what raises an alert (CXBOT_ALERT_*_MAX).
        self.thresholds = thresholds or Thresholds()
        self.export_dir = export_dir
        self.timezone = timezone  # CXBOT_REPORT_TIMEZONE: where days, months and weeks begin
        self.journey_order = journey_order  # the rules file's `journey`, as it is now

    def _query(self, actor: Actor, role: Role, command: str, args: str) -> ReportQuery | AdminReply:
        """The query, or the reply that refuses it: a bad filter's message, or NOT_ALLOWED for
        a team lead asking about a team not theirs."""
        try:
            query = parse_report_args(
                args,
                now=self.clock(),
                command=command,
                prefix=typed_prefix(actor),
                surveys=self.catalog,
                channels=CHANNELS,
                timezone=self.timezone,
            )
        except ReportQueryError as error:
            return AdminReply(error.message)
        if query.team is not None and not role.allows(query.team):
            return AdminReply(NOT_ALLOWED)
        return query

    async def _summary(
        self, query: ReportQuery, kind: QuestionKind, role: Role
    ) -> tuple[ScoreSummary, Attachment | None]:
        async with self.database.session() as session:
            summary = await score_summary(
                session,
                query,
                kind,
                teams=role.teams,
                min_n=self.min_n,
                surveys=surveys_asking(self.catalog, kind),
            )
            trend = await weekly_trend(session, query, kind, teams=role.teams)
            if summary.score.n:
                people = await people_answering(session, query, kind, teams=role.teams)
                summary = replace(summary, people=people)
        if summary.score.n == 0:
            return summary, None
        # matplotlib takes tens of milliseconds: draw off the event loop.
        png = await asyncio.to_thread(report_chart, summary, trend)
        filename = f"{kind.value}-{export_filename(query).removesuffix('.csv')}.png"
        return summary, Attachment(filename, "photo", data=png)

    async def score(self, actor: Actor, role: Role, args: str, *, command: str) -> AdminReply:
        query = self._query(actor, role, command, args)
        if isinstance(query, AdminReply):
            return query
        (kind,) = query.kinds
        summary, chart = await self._summary(query, kind, role)
        return AdminReply(summary_text(summary), [chart] if chart is not None else [])

    async def report(self, actor: Actor, role: Role, args: str) -> AdminReply:
        query = self._query(actor, role, "report", args)
        if isinstance(query, AdminReply):
            return query
        summaries: list[ScoreSummary] = []
        charts: list[Attachment] = []
        for kind in query.kinds:
            summary, chart = await self._summary(query, kind, role)
            summaries.append(summary)
            if chart is not None:
                charts.append(chart)
        return AdminReply(report_text(summaries), charts)

    async def journey(self, actor: Actor, role: Role, args: str) -> AdminReply:
        query = self._query(actor, role, "journey", args)
        if isinstance(query, AdminReply):
            return query
        async with self.database.session() as session:
            found = await journey(
                session, query, self.journey_order(), teams=role.teams, min_n=self.min_n
            )
        text = journey_text(found, prefix=typed_prefix(actor))
        png = await asyncio.to_thread(journey_chart, found)
        if png is None:
            return AdminReply(text)
        filename = f"journey-{export_filename(query).removesuffix('.csv')}.png"
        return AdminReply(text, [Attachment(filename, "photo", data=png)])

    async def me(self, actor: Actor, agent: str, args: str) -> AdminReply:
        """`/me [PERIOD]`: the agent's own scores (kinds with answers) and latest comments."""
        try:
            query = parse_report_args(
                args,
                now=self.clock(),
                command="me",
                prefix=typed_prefix(actor),
                timezone=self.timezone,
            )
        except ReportQueryError as error:
            return AdminReply(error.message)
        if query.filters:
            return AdminReply("/me takes a period only, e.g. me 30d: it is always your own cases")
        query = replace(query, agent=agent)
        summaries: list[ScoreSummary] = []
        async with self.database.session() as session:
            for kind in query.kinds:
                summary = await score_summary(session, query, kind, min_n=self.min_n)
                if summary.score.n:
                    summaries.append(summary)
            page = await comments_page(session, replace(query, command="comments"), page_size=5)
        if not summaries:
            return AdminReply(f"No answers about your cases · {query.label} · agent={agent}")
        text = report_text(summaries)
        if page.total:
            text += "\n\n" + comments_text(page, prefix=typed_prefix(actor))
        return AdminReply(text)

    async def comments(self, actor: Actor, role: Role, args: str) -> AdminReply:
        query = self._query(actor, role, "comments", args)
        if isinstance(query, AdminReply):
            return query
        async with self.database.session() as session:
            page = await comments_page(
                session,
                query,
                teams=role.teams,
                nps_max=self.thresholds.nps,
                csat_max=self.thresholds.csat,
                ces_max=self.thresholds.ces,
            )
        return AdminReply(comments_text(page, prefix=typed_prefix(actor)))

    async def export(self, actor: Actor, role: Role, args: str) -> AdminReply:
        query = self._query(actor, role, "export", args)
        if isinstance(query, AdminReply):
            return query
        # Streamed from the database into a temporary file, sent from disk, then deleted.
        descriptor, name = tempfile.mkstemp(
            prefix="cxbot-export-", suffix=".csv", dir=self.export_dir
        )
        path = Path(name)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
                async with self.database.session() as session:
                    rows = await export_csv(session, query, handle, teams=role.teams)
        except BaseException:
            _remove(path)
            raise
        caption = export_caption(query, rows)
        if rows == 0:
            _remove(path)
            return AdminReply(caption)
        document = Attachment(export_filename(query), "document", path=path, caption=caption)
        return AdminReply("", [document])  # the caption says it all

    async def followups(self, actor: Actor, role: Role, args: str) -> AdminReply:
        return AdminReply(await followups_text(self.database, teams=role.teams, now=self.clock()))


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
