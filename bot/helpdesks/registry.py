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
    """Every help desk cxbot takes hooks from (each one's hook is always mounted); those with
    their API's URL and credentials set also get the answers written back."""
    return [
        Zendesk(
            webhook_secret=_secret(settings.zendesk_webhook_secret),
            url=settings.zendesk_url,
            email=settings.zendesk_email,
            api_token=_secret(settings.zendesk_api_token),
            score_field=settings.zendesk_score_field,
        ),
        Freshdesk(
            url=settings.freshdesk_url,
            api_key=_secret(settings.freshdesk_api_key),
            score_field=settings.freshdesk_score_field,
        ),
        Chatwoot(
            webhook_secret=_secret(settings.chatwoot_webhook_secret),
            url=settings.chatwoot_url,
            api_token=_secret(settings.chatwoot_api_token),
            account_id=settings.chatwoot_account_id,
            score_attribute=settings.chatwoot_score_attribute,
        ),
    ]
