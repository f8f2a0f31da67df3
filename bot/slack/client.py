"""The Slack Web API client whose replies to customers take turns in the workspace's paced
stream, as Telegram's do (bot/telegram/retry.py)."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.paced import ReplyTurn, before_message

# The methods that post or change a message, which the workspace's limit counts. Lookups
# (users.*, conversations.open), modals (views.*) and the upload's own steps take no turn;
# files.completeUploadExternal does, since it is what shares the file into the conversation.
MESSAGE_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "chat.delete",
        "chat.meMessage",
        "files.completeUploadExternal",
    }
)


class PacedWebClient(AsyncWebClient):
    """An AsyncWebClient that awaits ``replies``, when set, before each message-sending call
    that took no turn (bot/paced.py): a reply to a customer (the edited question, the "why?",
    the thanks) then takes its turn in the workspace's stream beside the invitations.

    Every call cxbot makes goes through ``api_call``, so this is the one place that sees them
    all; bolt's listeners are handed this client (``app.client``), not one of their own.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.replies: ReplyTurn | None = None

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        if api_method in MESSAGE_METHODS:
            await before_message(self.replies)  # a reply to a customer waits there
        return await super().api_call(api_method, **kwargs)
