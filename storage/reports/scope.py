"""Which answers a report covers: the query's filters and a team lead's teams, as SQL."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, and_, exists, or_
from sqlalchemy.orm import aliased
from sqlmodel import col

from storage.tables import Invitation, Respondent
from surveys.report_query import ReportQuery

__all__ = ["invitation_scope"]


def invitation_scope(
    query: ReportQuery, teams: Collection[str] | None = None
) -> list[ColumnElement[bool]]:
    """Conditions on `invitations` for the query's filters; `teams` limits to those teams.

    An empty `teams` (a lead of no team) matches nothing, never everything.
    """
    conditions: list[ColumnElement[bool]] = []
    if query.survey is not None:
        conditions.append(col(Invitation.survey_id) == query.survey)
    if query.channel is not None:
        conditions.append(col(Invitation.channel) == query.channel)
    if query.team is not None:
        conditions.append(col(Invitation.team) == query.team)
    if query.agent is not None:
        conditions.append(col(Invitation.agent) == query.agent)
    if query.tag is not None:
        # Tags are stored wrapped in commas (",vip,refund,"), so one LIKE finds a whole tag.
        pattern = "%," + _escape_like(query.tag) + ",%"
        conditions.append(col(Invitation.tags).like(pattern, escape="\\"))
    if query.language is not None:
        # The invitation names a language only when its sender chose one; otherwise the survey
        # ran in the language the respondent's client reported, which the respondent row keeps.
        conditions.append(_language_is(query.language))
    if query.touchpoint is not None:
        conditions.append(col(Invitation.touchpoint) == query.touchpoint)
    if teams is not None:
        conditions.append(col(Invitation.team).in_(sorted(teams)))
    return conditions


def _language_is(language: str) -> ColumnElement[bool]:
    # An alias, so a query that joins `respondents` itself (the export) does not correlate to it.
    respondent = aliased(Respondent, name="speaker")
    respondent_speaks = exists().where(
        col(respondent.id) == col(Invitation.respondent_id),
        col(respondent.language) == language,
    )
    return or_(
        col(Invitation.language) == language,
        and_(col(Invitation.language).is_(None), respondent_speaks),
    )


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
