"""Reports for admins, counted in SQL: scores with context, weekly trends, comments, CSV export."""

from storage.reports.comments import DETRACTOR_MAX, Comment, CommentsPage, comments_page
from storage.reports.export import EXPORT_COLUMNS, export_csv, export_filename
from storage.reports.journey import Journey, Touchpoint, journey
from storage.reports.summary import DEFAULT_MIN_N, GroupScore, ScoreSummary, score_summary
from storage.reports.trend import TrendPoint, weekly_trend

__all__ = [
    "DEFAULT_MIN_N",
    "DETRACTOR_MAX",
    "EXPORT_COLUMNS",
    "Comment",
    "CommentsPage",
    "GroupScore",
    "Journey",
    "ScoreSummary",
    "Touchpoint",
    "TrendPoint",
    "comments_page",
    "export_csv",
    "export_filename",
    "journey",
    "score_summary",
    "weekly_trend",
]
