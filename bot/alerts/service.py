"""DetractorAlerts: tells the team about unhappy customers and records who follows up."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Coroutine, Sequence
from datetime import datetime
from typing import Any

from bot.alerts.board import AlertBoard, Posted, pack_posted, unpack_posted
from bot.alerts.errors import AlertNotDelivered
from bot.alerts.thresholds import Thresholds, raises_alert
from bot.alerts.view import AlertView, FollowupAction, Staff, display_name, render_alert
from bot.background import Background
from bot.runner import AnswerGiven
from storage.answers import answers_for
from storage.clock import utcnow
from storage.db import Database
from storage.followups import (
    Change,
    NewFollowup,
    add_comment,
    claim,
    create_followup,
    followup_case,
    posted_followup_ids,
    resolve,
    set_alert_ref,
)
from storage.tables import Followup, FollowupStatus

log = logging.getLogger(__name__)

UNKNOWN = "This follow-up no longer exists."
FOREIGN = "This follow-up belongs to another chat."
BAD_BUTTON = "Sorry, I couldn't read that button."
# How long shutting down waits for alerts still being posted.
CLOSE_TIMEOUT_S = 10.0


class DetractorAlerts:
    """A runner listener: a score at or below its threshold becomes a follow-up and an alert.

    Alerts are posted and edited in the background, so that a slow or rate-limited team chat
    never delays the customer's conversation nor a button press; `drain()` waits for them
    (tests, shutdown).
    """

    def __init__(
        self,
        database: Database,
        boards: Sequence[AlertBoard],
        thresholds: Thresholds,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.boards = list(boards)
        self.thresholds = thresholds
        self.clock = clock
        self._background = Background(CLOSE_TIMEOUT_S)

    async def __call__(self, given: AnswerGiven) -> None:
        if not (self._alerts_on(given) or _is_comment(given)):
            return
        self._spawn(self.handle(given), f"alert for invitation {given.invitation_id}")

    def _spawn(self, work: Coroutine[Any, Any, None], what: str) -> None:
        self._background.spawn(self._guarded(work, what), what)

    async def drain(self) -> None:
        """Wait until every alert started so far is posted (or has failed)."""
        await self._background.drain()

    async def close(self) -> None:
        """Let alerts being posted finish, for a while, before the channels close."""
        await self._background.close()

    def _alerts_on(self, given: AnswerGiven) -> bool:
        return raises_alert(given.kind, given.score, self.thresholds)

    @staticmethod
    async def _guarded(work: Coroutine[Any, Any, None], what: str) -> None:
        try:
            await work
        except Exception:
            # The answer or the press is stored whatever happens here.
            log.exception("%s failed", what)

    async def handle(self, given: AnswerGiven) -> None:
        """Raise the alert for a bad score, or add a comment to an alert already raised."""
        if self._alerts_on(given):
            assert given.score is not None
            await self._raise(given, given.score)
        elif _is_comment(given):
            assert given.text is not None
            await self._comment(given.invitation_id, given.text.strip())

    async def _raise(self, given: AnswerGiven, score: int) -> None:
        new = NewFollowup(
            invitation_id=given.invitation_id,
            kind=given.kind,
            score=score,
            alert_channel=",".join(board.channel for board in self.boards),
            alert_address=",".join(board.address for board in self.boards),
            created_at=given.at,
        )
        async with self.database.session() as session:
            followup, created = await create_followup(session, new)
            await session.commit()
        if not created:
            return  # a second scale question of the same invitation: one alert per case
        assert followup.id is not None
        # The row is committed before the comment is looked for: a comment answered in
        # between is then either found here or finds the row in _comment().
        async with self.database.session() as session:
            comment = next(
                (a.text for a in await answers_for(session, given.invitation_id) if a.text), None
            )
            if comment:
                await add_comment(session, given.invitation_id, comment.strip())
            await session.commit()
        view = await self._view(followup.id)
        if view is None:
            return
        posts: list[Posted] = []
        for board in self.boards:
            try:
                posts.append(await board.post(view))
            except AlertNotDelivered as failure:
                log.warning("alert for follow-up %s not posted: %s", followup.id, failure.reason)
        if not posts:
            return
        async with self.database.session() as session:
            await set_alert_ref(session, followup.id, pack_posted(posts))
            await session.commit()
        # A comment or a press that came while posting found no message to edit: show it now.
        later = await self._view(followup.id)
        if later is not None and later != view:
            await self._edit(posts, later)

    async def _comment(self, invitation_id: int, text: str) -> None:
        if not text:
            return
        async with self.database.session() as session:
            followup = await add_comment(session, invitation_id, text)
            await session.commit()
        if followup is not None and followup.id is not None and followup.alert_ref:
            await self.refresh(followup.id)

    async def _view(self, followup_id: int) -> AlertView | None:
        async with self.database.session() as session:
            case = await followup_case(session, followup_id)
        return render_alert(case) if case is not None else None

    async def refresh(self, followup_id: int) -> None:
        """Edit every posted copy of the alert to show the follow-up as stored now."""
        async with self.database.session() as session:
            case = await followup_case(session, followup_id)
        if case is not None:
            await self._edit(unpack_posted(case.followup.alert_ref), render_alert(case))

    def forgotten(self, invitation_ids: Collection[int]) -> None:
        """A customer was forgotten: edit the alerts about their invitations (in the
        background), so that the team chats no longer show their chat id nor their comment."""
        if invitation_ids:
            self._spawn(self._redact(tuple(invitation_ids)), "alert edits after a forget")

    async def _redact(self, invitation_ids: Collection[int]) -> None:
        async with self.database.session() as session:
            followup_ids = await posted_followup_ids(session, invitation_ids)
        for followup_id in followup_ids:
            await self.refresh(followup_id)

    async def _edit(self, posts: Sequence[Posted], view: AlertView) -> None:
        boards = {board.channel: board for board in self.boards}
        for posted in posts:
            board = boards.get(posted.channel)
            if board is None:
                continue  # posted by an earlier configuration to a channel now off
            try:
                await board.edit(posted, view)
            except AlertNotDelivered as failure:
                log.warning("alert %s not updated: %s", posted, failure.reason)

    async def press(
        self, followup_id: int, action: FollowupAction, staff: Staff, *, address: str
    ) -> str:
        """A button pressed by ``staff`` in the chat ``address``: record it; the notice for them.

        Anyone in the chat where the alert was posted may press (it is the team's chat).
        """
        async with self.database.session() as session:
            case = await followup_case(session, followup_id)
            if case is None:
                return UNKNOWN
            if not _posted_in(case.followup, staff.channel, address):
                return FOREIGN
            record = claim if action is FollowupAction.CLAIM else resolve
            change = await record(session, followup_id, staff.record, self.clock())
            await session.commit()
        assert change is not None  # the row was just read; follow-ups are never deleted
        if change.changed:
            # In the background: Slack wants its answer within 3 s, Telegram stops the
            # button's spinner only when answered, and a slow chat must delay neither.
            self._spawn(self.refresh(followup_id), f"alert edit for follow-up {followup_id}")
        return _notice(action, change, staff, case.case_id)


def _is_comment(given: AnswerGiven) -> bool:
    return given.kind == "text" and bool(given.text and given.text.strip())


def _posted_in(followup: Followup, channel: str, address: str) -> bool:
    targets = zip(
        followup.alert_channel.split(","), followup.alert_address.split(","), strict=False
    )
    if (channel, address) in set(targets):
        return True
    return any(
        (p.channel, p.address) == (channel, address) for p in unpack_posted(followup.alert_ref)
    )


def _notice(action: FollowupAction, change: Change, staff: Staff, case_id: str) -> str:
    followup = change.followup
    if followup.status == FollowupStatus.RESOLVED:
        if change.changed:
            return f"Case {case_id} is marked resolved."
        return f"Case {case_id} was already resolved by {display_name(followup.resolved_by)}."
    if action is FollowupAction.CLAIM and followup.claimed_by is not None:
        holder = Staff.from_record(followup.claimed_by)
        if change.changed:
            return f"You're following up on case {case_id}."
        if (holder.channel, holder.user_id) == (staff.channel, staff.user_id):
            return f"You're already following up on case {case_id}."
        return f"{holder.name} is already following up on case {case_id}."
    return f"Case {case_id} is {followup.status}."
