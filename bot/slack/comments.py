"""The comment of a survey posted in a channel: a button opens a modal, its submission answers.

Channel messages are never read as answers: anyone could type there, and cxbot does not
subscribe to them. The modal is opened only for the survey's own user, with the trigger_id
of their tap (valid for three seconds), and its text goes to the runner for that invitation.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from bot.runner import SurveyRunner
from bot.slack.blocks import COMMENT_ACTION, SurveyButton
from bot.slack.context import SLACK, Notify, someone_else, where
from bot.slack.modal import BLOCK, COMMENT_VIEW, CommentTarget, comment_view, submitted_text
from storage.state import BaseStateStore
from surveys.conversation import current_prompt
from surveys.messages import Message, message

log = logging.getLogger(__name__)


def register_comments(
    app: AsyncApp, runner: SurveyRunner, state: BaseStateStore, notify: Notify
) -> None:
    """Listen for the comment button and the modal's submission (before the other taps)."""
    client = app.client

    @app.action(COMMENT_ACTION)
    async def on_comment_button(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        await ack()
        user = str(body["user"]["id"])
        place = where(body)
        try:
            button = SurveyButton.unpack(str(action.get("value", "")))
        except ValueError:
            await notify(place, user, message(Message.BAD_BUTTON, "en"))
            return
        conversation, notice = await someone_else(state, button.invitation, user)
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
        # Without the conversation (the state store lost it) the runner rebuilds it from SQL
        # when the comment comes, and refuses it there if the survey is not theirs.
        target = CommentTarget(button.invitation, button.question, place.channel, place.thread)
        try:
            await client.views_open(
                trigger_id=str(body["trigger_id"]), view=comment_view(target, question, language)
            )
        except SlackApiError as error:
            # expired_trigger_id: the tap took more than three seconds to reach us.
            log.warning("slack: could not open the comment modal: %s", error.response.get("error"))

    @app.view(COMMENT_VIEW)
    async def on_comment_sent(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = str(body["user"]["id"])
        try:
            target = CommentTarget.unpack(str(view.get("private_metadata", "")))
        except ValueError:
            await ack(response_action="errors", errors={BLOCK: message(Message.BAD_BUTTON, "en")})
            return
        conversation, notice = await someone_else(state, target.invitation, user)
        if notice is None and conversation is not None:
            survey = runner.catalog.get(conversation.state.survey_id)
            prompt = current_prompt(survey, conversation.state)
            if prompt is None or prompt.question_id != target.question:
                # Skipped or answered meanwhile: this text would land on another question.
                notice = message(Message.STALE, conversation.state.language)
        if notice is None:
            outcome = await runner.handle_comment(
                SLACK, target.invitation, user, submitted_text(view), None
            )
            notice = outcome.notice
        if notice is None:
            await ack()  # the modal closes; the thanks or the next question is in the channel
            return
        # Shown under the text box, which keeps what was typed (too long, empty, closed).
        await ack(response_action="errors", errors={BLOCK: notice})
