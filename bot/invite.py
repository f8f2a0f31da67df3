"""Creating an invitation from an API call or the CLI: validate, resolve, store once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.addressing import addressee, identities_of, resolve
from bot.channel import Channel
from bot.errors import ChannelNotConfigured, InvalidRecipient
from storage.clock import utcnow
from storage.db import Database
from storage.invitations import NewInvitation, create_invitation
from storage.tables import Invitation, InvitationStatus
from surveys.catalog import Catalog
from surveys.definitions import base_language
from surveys.fields import Attributes, CaseId, ChannelName, Language, SurveyId, UserId
from surveys.fields import Recipient as RecipientId
from surveys.people import PersonRef, chat_or_person

# Channels cxbot speaks, and what turns each one on.
KNOWN_CHANNELS: dict[str, str] = {
    "telegram": "set TELEGRAM_BOT_TOKEN",
    "slack": "set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET",
}


class InvitationRequest(BaseModel):
    """The body of POST /api/v1/invitations (and the arguments of `cxbot send`); its fields
    are typed in surveys.fields, as an event's are."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    survey: SurveyId
    channel: ChannelName
    # What a help desk knows of the customer (email, requester id); before `recipient`, which
    # may be left out when it is given: a Telegram invitation then goes to the person's known
    # chat, or waits for its link to be opened.
    person: PersonRef | None = None
    # The chat: Telegram chat id, Slack user id or email.
    recipient: RecipientId | None = Field(None, validate_default=True)
    case_id: CaseId
    attributes: Attributes = Field(default_factory=dict)
    language: Language | None = None
    user: UserId | None = None

    _someone = field_validator("recipient")(chat_or_person)


class InvalidInvitation(ValueError):
    """The request is well-formed but cannot be served; ``field`` says where to look."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Receipt:
    invitation: Invitation
    created: bool


async def invite(
    request: InvitationRequest,
    *,
    catalog: Catalog,
    database: Database,
    channels: Mapping[str, Channel],
) -> Receipt:
    """Store the invitation (once per case + survey); delivery is the caller's next step."""
    survey = catalog.get(request.survey)
    if request.channel not in KNOWN_CHANNELS:
        raise InvalidInvitation(
            "channel",
            f"unknown channel '{request.channel}'; cxbot speaks: {', '.join(KNOWN_CHANNELS)}",
        )
    channel = channels.get(request.channel)
    if channel is None:
        raise ChannelNotConfigured(
            request.channel, sorted(channels), KNOWN_CHANNELS[request.channel]
        )
    # "pl-PL" counts as "pl", as a customer's own client language does (and an event's).
    language = base_language(request.language) if request.language else None
    if language is not None and language not in survey.languages:
        raise InvalidInvitation(
            "language",
            f"survey '{survey.id}' speaks {', '.join(survey.languages)}, not '{language}'",
        )
    try:
        recipient = await resolve(channel, request.recipient, request.user, request.person)
    except InvalidRecipient as error:
        raise InvalidInvitation(error.field, error.message) from error
    identities = identities_of(request.recipient, request.person)
    async with database.session() as session:
        to = await addressee(session, channel.name, recipient, identities)
        assert to.respondent.id is not None
        now = utcnow()
        invitation, created = await create_invitation(
            session,
            NewInvitation(
                survey_id=survey.id,
                case_id=request.case_id,
                channel=channel.name,
                address=to.address,
                respondent_id=to.respondent.id,
                language=language,
                attributes=request.attributes,
                scheduled_at=now,
                status=(
                    InvitationStatus.AWAITING_LINK
                    if to.awaiting_link
                    else InvitationStatus.SCHEDULED
                ),
                # A link not opened in the survey's time closes like an unanswered survey.
                expires_at=now + timedelta(hours=survey.expiry_hours) if to.awaiting_link else None,
            ),
        )
        await session.commit()
    return Receipt(invitation, created)
