"""Who an invitation is made out to: a chat address when one is known, else the person's
email or help-desk requester id, whose invitation then waits for its link to be opened."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channel import Recipient
from storage.people import EMAIL, REQUESTER, email_address, link_addresses, person_on
from storage.respondents import upsert_respondent
from storage.tables import Respondent

# Channels that can reach a person through a link they open (Telegram's t.me/<bot>?start=),
# so that an invitation may be made for someone whose chat nobody knows.
LINK_CHANNELS = frozenset({"telegram"})

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_REQUESTER = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}:\S{1,128}")


class PersonRef(BaseModel):
    """The ``person`` of an invitation or event: what a help desk knows of the customer."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str | None = Field(None, max_length=254)
    requester: str | None = Field(None, max_length=161)

    @field_validator("email")
    @classmethod
    def _an_email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.fullmatch(value):
            raise ValueError(f"not an email address: {value!r}")
        return value

    @field_validator("requester", mode="before")
    @classmethod
    def _a_requester(cls, value: Any) -> Any:
        if isinstance(value, str) and not _REQUESTER.fullmatch(value.strip()):
            raise ValueError(
                "give the help desk and its requester id as <help desk>:<id>, e.g. zendesk:12345"
            )
        return value

    @model_validator(mode="after")
    def _something(self) -> PersonRef:
        if self.email is None and self.requester is None:
            raise ValueError("give the person's email or requester (or both)")
        return self

    def identities(self) -> list[tuple[str, str]]:
        """(kind, value) of each address given, as stored."""
        found: list[tuple[str, str]] = []
        if self.email is not None:
            found.append((EMAIL, email_address(self.email)))
        if self.requester is not None:
            desk, _, requester_id = self.requester.partition(":")
            found.append((REQUESTER, f"{desk.lower()}:{requester_id}"))
        return found


@dataclass(frozen=True)
class Addressee:
    """Who may answer (a chat account, or the identity the link will bind) and where to send;
    ``awaiting_link``: nobody knows their chat, the survey goes out when they open the link."""

    respondent: Respondent
    address: str
    awaiting_link: bool


def identities_of(recipient: str | None, person: PersonRef | None) -> list[tuple[str, str]]:
    """The person's addresses beyond the chat one: ``person``'s, and an email recipient
    (Slack looks its user up by email) so the next invitation by that email finds them."""
    found = person.identities() if person is not None else []
    if recipient is not None and _EMAIL.fullmatch(recipient.strip()):
        email = (EMAIL, email_address(recipient))
        if email not in found:
            found.append(email)
    return found


async def addressee(
    session: AsyncSession,
    channel: str,
    recipient: Recipient | None,
    identities: list[tuple[str, str]],
) -> Addressee:
    """Store and link the person's addresses; the chat to send to, in the caller's
    transaction. Without ``recipient`` the person's known chat on ``channel`` is used (the
    one that opened an earlier link, say), else the invitation is to wait for its link."""
    known = [await upsert_respondent(session, kind, value) for kind, value in identities]
    if recipient is not None:
        chat = await upsert_respondent(session, channel, recipient.external_id, recipient.language)
        if known:
            await link_addresses(session, [chat, *known])
        return Addressee(chat, recipient.address, awaiting_link=False)
    if not known:
        raise ValueError("an invitation without a recipient needs the person's email or id")
    person = await link_addresses(session, known)
    found = await person_on(session, person, channel)
    if found is not None:  # in a private chat the chat id is the user's id
        return Addressee(found, found.external_id, awaiting_link=False)
    return Addressee(known[0], "", awaiting_link=True)
