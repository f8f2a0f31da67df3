"""The answers of a query as CSV, streamed from the database into a file batch by batch."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, BinaryIO, TextIO, cast

from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.reports.scope import invitation_scope
from storage.tables import Answer, Invitation, Respondent
from surveys.report_query import ReportQuery

__all__ = ["EXPORT_COLUMNS", "export_csv", "export_filename", "neutralised"]

EXPORT_COLUMNS = (
    "answered_at",
    "survey",
    "kind",
    "question",
    "score",
    "choice",
    "comment",
    "case_id",
    "channel",
    "team",
    "agent",
    "tags",
    "language",
    "invitation_id",
    "touchpoint",
)
BATCH_ROWS = 2000  # rows fetched per round trip and written per write
# A cell starting with one of these runs as a formula in Excel, LibreOffice or Sheets ("CSV
# injection"). Customers type comments and choices; help desks send case ids, teams, agents and
# tags: every such text cell that starts with one (after blanks, and in its full-width or small
# form, U+FF1D U+FE66 U+FF0B U+FF20 …, which NFKC folds to these) gets a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@")
_CONTROL_START = ("\t", "\r", "\n")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


async def export_csv(
    session: AsyncSession,
    query: ReportQuery,
    out: BinaryIO | TextIO,
    *,
    teams: Collection[str] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> int:
    """Write every answer given in the query's period (all kinds: scores, choices, comments)
    as CSV into `out` and return the number of rows (the header not counted).

    One row per answer, oldest first; `answered_at` is UTC, `tags` comma-separated. Rows
    come through a server-side cursor `batch_rows` at a time, so memory stays flat however
    many rows there are. `out` is a text file (io.TextIOBase) or else a binary one (UTF-8).
    """
    statement = (
        select(
            col(Answer.answered_at),
            col(Invitation.survey_id),
            col(Answer.kind),
            col(Answer.question_id),
            col(Answer.score),
            col(Answer.choice),
            col(Answer.text),
            col(Invitation.case_id),
            col(Invitation.channel),
            col(Invitation.team),
            col(Invitation.agent),
            col(Invitation.tags),
            # The invitation's language, else the one the respondent's client reported.
            func.coalesce(col(Invitation.language), col(Respondent.language)),
            col(Answer.invitation_id),
            col(Invitation.touchpoint),
        )
        .join(Invitation, col(Invitation.id) == col(Answer.invitation_id))
        .join(Respondent, col(Respondent.id) == col(Invitation.respondent_id))
        .where(
            col(Answer.answered_at) >= query.start,
            col(Answer.answered_at) < query.end,
            *invitation_scope(query, teams),
        )
        .order_by(col(Answer.answered_at), col(Answer.id))
        .execution_options(yield_per=batch_rows)
    )
    write = _writer(out)
    buffer = io.StringIO()
    rows = csv.writer(buffer)
    rows.writerow(EXPORT_COLUMNS)
    count = 0
    # AsyncSession.stream() goes through sqlmodel's deprecated Session.execute; the session's
    # own connection streams the same statement inside the same transaction.
    connection = await session.connection()
    async with connection.stream(statement) as result:  # closes the cursor however it ends
        async for batch in result.partitions():
            rows.writerows(_cells(row) for row in batch)
            count += len(batch)
            write(buffer.getvalue())
            buffer.seek(0)
            buffer.truncate()
    write(buffer.getvalue())
    return count


def export_filename(query: ReportQuery) -> str:
    """A file name that says what the export holds, e.g. cxbot-2026-10-team-billing.csv."""
    if query.span == "month":
        period = query.label
    else:
        last = (query.end - timedelta(microseconds=1)).date()
        period = f"{query.start.date()}_{last}"
    parts = ["cxbot", period]
    parts += [f"{name}-{value}" for name, value in query.filters.items()]
    name = _UNSAFE_NAME.sub("-", "-".join(parts)).strip("-.")[:150]
    return f"{name}.csv"


def _cells(row: Sequence[Any]) -> list[object]:
    answered_at: datetime = row[0]
    cells: list[object] = [answered_at.isoformat(sep=" ", timespec="seconds")]
    for index, value in enumerate(row[1:], start=1):
        if value is None:
            cells.append("")
        elif index == 11:  # tags: ",vip,refund," -> "vip,refund"
            cells.append(neutralised(str(value).strip(",")))
        elif isinstance(value, str):
            cells.append(neutralised(value))
        else:
            cells.append(value)
    return cells


def neutralised(value: str) -> str:
    """`value` made safe to open in a spreadsheet: a would-be formula gets a leading "'"."""
    if value.startswith(_CONTROL_START):
        return "'" + value
    folded = unicodedata.normalize("NFKC", value[:8]).lstrip()
    return "'" + value if folded.startswith(_FORMULA_START) else value


def _writer(out: BinaryIO | TextIO) -> Callable[[str], object]:
    if isinstance(out, io.TextIOBase):
        return out.write
    binary = cast(BinaryIO, out)
    return lambda text: binary.write(text.encode("utf-8"))
