"""The comment modal of a survey posted in a channel: its view, and reading its submission."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from surveys.conversation import MAX_TEXT_LENGTH
from surveys.messages import Message, message

COMMENT_VIEW = "cx_comment_view"  # the view's callback_id, which view_submission names
BLOCK = "comment"
INPUT = "text"
# Slack's caps: a modal title 24 characters, an input's label 2000, a plain_text_input 3000.
MAX_TITLE = 24
MAX_INPUT_LABEL = 2000
MAX_INPUT = min(3000, MAX_TEXT_LENGTH)
# Invitation ids are PostgreSQL integers: a larger one names nothing (and would fail the query).
MAX_INVITATION = 2**31 - 1


@dataclass(frozen=True)
class CommentTarget:
    """What the modal answers, kept in its ``private_metadata`` (up to 3000 characters):
    the invitation and question, and the channel and thread for notices after it closes."""

    invitation: int
    question: str
    channel: str | None
    thread: str | None

    def pack(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def unpack(cls, raw: str) -> CommentTarget:
        """Raises ValueError for metadata our modals never carry."""
        try:
            data = json.loads(raw)
            target = cls(
                int(data["invitation"]),
                str(data["question"]),
                _text_or_none(data.get("channel")),
                _text_or_none(data.get("thread")),
            )
        except (TypeError, KeyError, AttributeError, ValueError) as error:
            raise ValueError(f"not a comment modal's metadata: {raw[:80]!r}") from error
        if not 0 < target.invitation <= MAX_INVITATION:
            raise ValueError(f"no invitation {target.invitation}")
        return target


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def comment_view(target: CommentTarget, question: str, language: str) -> dict[str, Any]:
    """A modal with one multi-line text input labelled with the question."""
    return {
        "type": "modal",
        "callback_id": COMMENT_VIEW,
        "private_metadata": target.pack(),
        "title": _plain(message(Message.COMMENT_MODAL_TITLE, language), MAX_TITLE),
        "submit": _plain(message(Message.SUBMIT, language), MAX_TITLE),
        "close": _plain(message(Message.CANCEL, language), MAX_TITLE),
        "blocks": [
            {
                "type": "input",
                "block_id": BLOCK,
                "label": _plain(question, MAX_INPUT_LABEL),
                "element": {
                    "type": "plain_text_input",
                    "action_id": INPUT,
                    "multiline": True,
                    "max_length": MAX_INPUT,
                },
            }
        ],
    }


def submitted_text(view: dict[str, Any]) -> str:
    """The comment typed into a submitted comment view ("" when the input is missing)."""
    field = (view.get("state") or {}).get("values", {}).get(BLOCK, {}).get(INPUT, {})
    value = field.get("value") if isinstance(field, dict) else None
    return value if isinstance(value, str) else ""


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:limit]}
