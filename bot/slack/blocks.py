"""Renders a channel-neutral Prompt as Slack Block Kit, and reads our buttons back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from surveys.conversation import Prompt
from surveys.messages import Message, message

SKIP_VALUE = "-"
ACTION_PREFIX = "cx_"
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
        return cls(int(invitation), question, value)


def prompt_text(prompt: Prompt) -> str:
    """The notification text (and the fallback for clients without blocks)."""
    return f"{prompt.text}\n\n{prompt.hint}" if prompt.hint else prompt.text


def _button(text: str, action_id: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:MAX_LABEL]},
        "action_id": action_id,
        "value": value,
    }


def prompt_blocks(invitation_id: int, prompt: Prompt) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": prompt.text}}
    ]
    if prompt.hint:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": prompt.hint}]})
    labelled = bool(prompt.choices) and all(c.caption for c in prompt.choices)
    elements = [
        _button(
            f"{choice.label} · {choice.caption}" if labelled else choice.label,
            f"{ACTION_PREFIX}answer_{choice.value}",
            SurveyButton(invitation_id, prompt.question_id, choice.value).pack(),
        )
        for choice in prompt.choices
    ]
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
