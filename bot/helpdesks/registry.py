"""The help desks of this installation, built from the settings once."""

from __future__ import annotations

from pydantic import SecretStr

from bot.helpdesks.base import HelpDesk
from bot.helpdesks.chatwoot import Chatwoot
from bot.helpdesks.freshdesk import Freshdesk
from bot.helpdesks.zendesk import Zendesk
from bot.settings import Settings


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def helpdesks(settings: Settings) -> list[HelpDesk]:
    """Every help desk cxbot takes hooks from; each one's hook is always mounted."""
    return [
        Zendesk(webhook_secret=_secret(settings.zendesk_webhook_secret)),
        Freshdesk(),
        Chatwoot(webhook_secret=_secret(settings.chatwoot_webhook_secret)),
    ]
