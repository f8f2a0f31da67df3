"""Renders a channel-neutral Prompt as Slack Block Kit, and reads our buttons back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage.tables import MAX_ID
from surveys.conversation import Prompt
from surveys.definitions import QuestionKind
from surveys.messages import Message, message

SKIP_VALUE = "-"
# The value of the button that opens the comment modal (a text question in a channel).
COMMENT_VALUE = "+"
ACTION_PREFIX = "cx_"
COMMENT_ACTION = f"{ACTION_PREFIX}comment"
# Slack cuts a button's plain_text label at 75 characters.
MAX_LABEL = 75


@dataclass(frozen=True)
class SurveyButton:
    """A button's ``value``: ``<invitation>:<question>:<value>``; ``value`` is ``-`` for Skip."""

    invitation: int
    question: str
    value: str

    def pack(self) -> str:
        return f"{self.invitation}:{self.question}:{self.value}"

    @classmethod
    def unpack(cls, data: str) -> SurveyButton:
        """Raises ValueError for a value our buttons never carry."""
        invitation, question, value = data.split(":", 2)
        if not (invitation.isascii() and invitation.isdigit()) or not 0 < int(invitation) <= MAX_ID:
            raise ValueError(f"no invitation {invitation[:20]!r}")  # nor could the database
        return cls(int(invitation), question, value)


def prompt_text(prompt: Prompt, *, for_user: str | None = None) -> str:
    """The notification text (and the fallback for clients without blocks)."""
    if for_user is None:
        return f"{prompt.text}\n\n{prompt.hint}" if prompt.hint else prompt.text
    hint = _channel_hint(prompt)
    text = f"<@{for_user}> {prompt.text}"
    return f"{text}\n\n{hint}" if hint else text


def _channel_hint(prompt: Prompt) -> str | None:
    # A text question's hint says "type your answer in a message": not so in a channel.
    return None if prompt.kind is QuestionKind.TEXT else prompt.hint


def _button(text: str, action_id: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:MAX_LABEL]},
        "action_id": action_id,
        "value": value,
    }


def prompt_blocks(
    invitation_id: int, prompt: Prompt, *, for_user: str | None = None
) -> list[dict[str, Any]]:
    """The question and its buttons; ``for_user`` set, as posted in a channel for that user.

    In a channel the question mentions its user, and a text question gets a button that
    opens the comment modal: answers are never read from a channel's messages.
    """
    in_channel = for_user is not None
    text = f"<@{for_user}> {prompt.text}" if in_channel else prompt.text
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    hint = _channel_hint(prompt) if in_channel else prompt.hint
    if hint:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": hint}]})
    labelled = bool(prompt.choices) and all(c.caption for c in prompt.choices)
    elements = [
        _button(
            f"{choice.label} · {choice.caption}" if labelled else choice.label,
            f"{ACTION_PREFIX}answer_{choice.value}",
            SurveyButton(invitation_id, prompt.question_id, choice.value).pack(),
        )
        for choice in prompt.choices
    ]
    if in_channel and prompt.kind is QuestionKind.TEXT:
        elements.append(
            _button(
                message(Message.ADD_COMMENT_BUTTON, prompt.language),
                COMMENT_ACTION,
                SurveyButton(invitation_id, prompt.question_id, COMMENT_VALUE).pack(),
            )
        )
    if prompt.skippable:
        elements.append(
            _button(
                message(Message.SKIP_BUTTON, prompt.language),
                f"{ACTION_PREFIX}skip",
                SurveyButton(invitation_id, prompt.question_id, SKIP_VALUE).pack(),
            )
        )
    if elements:
        # An actions block holds up to 25 elements: NPS 0-10 plus Skip fits in one.
        blocks.append({"type": "actions", "elements": elements})
    return blocks


def answered_blocks(prompt: Prompt, answer: str | None) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": prompt.text}}
    ]
    if answer:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": answer}]})
    return blocks
