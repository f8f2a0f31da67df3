"""What an alert says and which buttons it has, in channel-neutral terms."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storage.followups import FollowupCase
from storage.tables import FollowupStatus
from surveys.definitions import SCALES, QuestionKind, band_of

BUTTON_PREFIX = "fu"
# Who pressed is stored as "<channel>:<user id>:<name>" in a 160-character column.
MAX_WHO = 160
# The whole alert must fit Telegram's 4096 characters and Slack's 3000 per text block.
MAX_COMMENT = 1500
NO_VALUE = "—"


class FollowupAction(StrEnum):
    CLAIM = "claim"
    RESOLVE = "resolve"

    @property
    def label(self) -> str:
        return "I'll follow up" if self is FollowupAction.CLAIM else "Resolved"


def pack_button(followup_id: int, action: FollowupAction) -> str:
    """``fu:<id>:claim|resolve``: Telegram callback data and Slack button value alike."""
    return f"{BUTTON_PREFIX}:{followup_id}:{action.value}"


def unpack_button(data: str) -> tuple[int, FollowupAction] | None:
    """The follow-up and action a button names, or None for data our buttons never carry."""
    prefix, _, rest = data.partition(":")
    number, _, action = rest.partition(":")
    if prefix != BUTTON_PREFIX or not number.isdigit():
        return None
    try:
        return int(number), FollowupAction(action)
    except ValueError:
        return None


@dataclass(frozen=True)
class Staff:
    """Someone in the team chat who pressed a button."""

    channel: str
    user_id: str
    name: str

    @property
    def record(self) -> str:
        """As stored in ``claimed_by`` / ``resolved_by``."""
        return f"{self.channel}:{self.user_id}:{self.name}"[:MAX_WHO]

    @classmethod
    def from_record(cls, record: str) -> Staff:
        channel, _, rest = record.partition(":")
        user_id, _, name = rest.partition(":")
        return cls(channel, user_id, name or user_id)


def display_name(record: str | None) -> str:
    """The name to show for a stored ``claimed_by`` / ``resolved_by``."""
    return Staff.from_record(record).name if record else "someone"


@dataclass(frozen=True)
class AlertView:
    """An alert as every channel shows it: its text and the buttons still useful."""

    followup_id: int
    text: str
    actions: tuple[FollowupAction, ...]


def score_label(kind: str, score: int) -> str:
    """``NPS 3/10 (detractor)``: the score on its scale, with its band."""
    try:
        scale = QuestionKind(kind)
        _, high = SCALES[scale]
        return f"{kind.upper()} {score}/{high} ({band_of(scale, score).value})"
    except (ValueError, KeyError):
        return f"{kind.upper()} {score}"


def status_line(case: FollowupCase) -> str:
    followup = case.followup
    if followup.status == FollowupStatus.RESOLVED:
        return f"✅ resolved by {display_name(followup.resolved_by)}"
    if followup.status == FollowupStatus.CLAIMED:
        return f"🙋 {display_name(followup.claimed_by)} is following up"
    return "⏳ nobody is following up yet"


def _comment_line(comment: str | None, *, forgotten: bool = False) -> str:
    if forgotten:
        return "💬 deleted: the customer asked to be forgotten"
    if not comment:
        return "💬 no comment yet"
    text = comment.strip()
    if len(text) > MAX_COMMENT:
        text = text[: MAX_COMMENT - 1] + "…"
    return f"💬 “{text}”"


def render_alert(case: FollowupCase) -> AlertView:
    """The alert for a follow-up as it stands (posted first, then edited on every change)."""
    followup = case.followup
    assert followup.id is not None
    lines = [
        f"🔴 Unhappy customer · {score_label(followup.kind, followup.score)}",
        f"Case: {case.case_id} · survey: {case.survey_id}",
        f"Agent: {case.agent or NO_VALUE} · team: {case.team or NO_VALUE}",
        f"Customer: {case.customer_channel} "
        + ("(forgotten on request)" if case.forgotten else case.customer_id),
        f"Answered: {followup.created_at:%Y-%m-%d %H:%M} UTC",
        _comment_line(followup.comment, forgotten=case.forgotten),
        status_line(case),
    ]
    if followup.status == FollowupStatus.OPEN:
        actions: tuple[FollowupAction, ...] = (FollowupAction.CLAIM, FollowupAction.RESOLVE)
    elif followup.status == FollowupStatus.CLAIMED:
        actions = (FollowupAction.RESOLVE,)
    else:
        actions = ()
    return AlertView(followup.id, "\n".join(lines), actions)
