"""The comment of a survey posted in a channel: a button opens a modal, its submission answers.

Channel messages are never read as answers: anyone could type there, and cxbot does not
subscribe to them. The modal is opened only for the survey's own user, with the trigger_id
of their tap (valid for three seconds), and its text goes to the runner for that invitation.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.background import Background
from bot.runner import Outcome, SurveyRunner
from bot.slack.blocks import COMMENT_ACTION
from bot.slack.context import SLACK, Notify, Where, someone_else, tapped
from bot.slack.modal import BLOCK, COMMENT_VIEW, CommentTarget, comment_view, submitted_text
from bot.slack.replay import Replays, keep_on_outage
from storage.state import BaseStateStore
from surveys.conversation import current_prompt
from surveys.messages import Message, message

log = logging.getLogger(__name__)

# Under Slack's three seconds for answering a view_submission, with room for the way back.
ACK_WITHIN_S = 2.0


def register_comments(
    app: AsyncApp,
    runner: SurveyRunner,
    state: BaseStateStore,
    notify: Notify,
    background: Background,
    replays: Replays | None = None,
) -> None:
    """Listen for the comment button and the modal's submission (before the other taps).

    ``background`` keeps the comments still being answered after their modal closed;
    ``replays`` those that failed on a store that was away, to try them again.
    """
    client = app.client

    @app.action(COMMENT_ACTION)
    async def on_comment_button(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        await ack()
        if (tap := await tapped(body, action, notify)) is None:
            return
        user, place, button = tap
        conversation, notice = await someone_else(runner, button.invitation, user)
        if notice is not None:
            await notify(place, user, notice)
            return
        language = "en"
        question = message(Message.COMMENT_MODAL_TITLE, language)
        if conversation is not None:
            language = conversation.state.language
            survey = runner.catalog.get(conversation.state.survey_id)
            prompt = current_prompt(survey, conversation.state)
            if prompt is None or prompt.question_id != button.question:
                await notify(place, user, message(Message.STALE, language))
                return
            question = prompt.text
        # None: no survey under way for it (completed, expired); the runner says so when the
        # comment comes.
        target = CommentTarget(button.invitation, button.question, place.channel, place.thread)
        try:
            await client.views_open(
                trigger_id=str(body["trigger_id"]), view=comment_view(target, question, language)
            )
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            # expired_trigger_id: the tap took more than three seconds to reach us; or Slack
            # failed. The customer tapped and saw nothing: tell them, the button still works.
            reason = error.response.get("error") if isinstance(error, SlackApiError) else error
            log.warning(
                "slack: could not open the comment modal of invitation %s for %s: %s",
                button.invitation,
                user,
                reason,
            )
            label = message(Message.ADD_COMMENT_BUTTON, language)
            await notify(place, user, message(Message.COMMENT_BOX_FAILED, language, button=label))

    @app.view(COMMENT_VIEW)
    async def on_comment_sent(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = str(body["user"]["id"])
        try:
            target = CommentTarget.unpack(str(view.get("private_metadata", "")))
        except ValueError:
            await ack(response_action="errors", errors={BLOCK: message(Message.BAD_BUTTON, "en")})
            return
        conversation, notice = await someone_else(runner, target.invitation, user)
        if notice is None and conversation is not None:
            survey = runner.catalog.get(conversation.state.survey_id)
            prompt = current_prompt(survey, conversation.state)
            if prompt is None or prompt.question_id != target.question:
                # Skipped or answered meanwhile: this text would land on another question.
                notice = message(Message.STALE, conversation.state.language)
        language = conversation.state.language if conversation is not None else "en"
        if notice is None:
            comment = _Comment(runner, notify, replays, target, user, submitted_text(view))
            answering = asyncio.ensure_future(comment.answer())
            # Slack waits three seconds for the answer to a submission, then tells the user it
            # failed (with their text still in the box). The answer is usually stored in
            # milliseconds; when Slack's side is slow (a 429 on the messages that follow),
            # close the modal in time and let the runner finish.
            finished, _ = await asyncio.wait({answering}, timeout=ACK_WITHIN_S)
            if not finished:
                await ack()
                background.spawn(comment.finish(answering, language), "slack-comment")
                return
            try:
                notice = answering.result().notice
            except Exception as error:
                if not comment.kept(error):
                    raise  # a 500: Slack shows its error, the text stays in the box
                await ack()
                await notify(comment.place, user, message(Message.ANSWER_KEPT, language))
                return
        if notice is None:
            await ack()  # the modal closes; the thanks or the next question is in the channel
            return
        # Shown under the text box, which keeps what was typed (too long, empty, closed).
        await ack(response_action="errors", errors={BLOCK: notice})


class _Comment:
    """One submitted comment on its way to the runner, and what to do if that takes long or
    fails on a store that is away (Slack never sends a submission twice)."""

    def __init__(
        self,
        runner: SurveyRunner,
        notify: Notify,
        replays: Replays | None,
        target: CommentTarget,
        user: str,
        text: str,
    ) -> None:
        self.runner, self.notify, self.replays = runner, notify, replays
        self.target, self.user, self.text = target, user, text
        self.place = Where(target.channel, target.thread)

    async def answer(self) -> Outcome:
        return await self.runner.handle_comment(
            SLACK, self.target.invitation, self.user, self.text, None
        )

    async def _again(self) -> None:
        outcome = await self.answer()
        await self.notify(self.place, self.user, outcome.notice)

    def kept(self, error: Exception) -> bool:
        """Keep the comment to try again if `error` is an outage; False when not kept."""
        what = f"comment on invitation {self.target.invitation} by {self.user}"
        return keep_on_outage(self.replays, what, self._again, error)

    async def finish(self, answering: asyncio.Future[Outcome], language: str) -> None:
        """Once the modal has closed: say what became of the comment."""
        try:
            outcome = await answering
        except Exception as error:
            if self.kept(error):
                await self.notify(self.place, self.user, message(Message.ANSWER_KEPT, language))
                return
            log.exception("slack: comment for invitation %s failed", self.target.invitation)
            await self.notify(self.place, self.user, message(Message.COMMENT_FAILED, language))
            return
        await self.notify(self.place, self.user, outcome.notice)
