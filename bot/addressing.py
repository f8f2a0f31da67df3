"""Who an invitation is made out to: a chat address when one is known, else the person's
email or help-desk requester id, whose invitation then waits for its link to be opened."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channel import Channel, Recipient
from bot.errors import InvalidRecipient
from storage.people import EMAIL, REQUESTER, email_address, link_addresses, person_on
from storage.respondents import upsert_respondent
from storage.tables import Respondent
from surveys.people import EMAIL_PATTERN, PersonRef

# Channels that can reach a person through a link they open (Telegram's t.me/<bot>?start=),
# so that an invitation may be made for someone whose chat nobody knows.
LINK_CHANNELS = frozenset({"telegram"})


async def resolve(
    channel: Channel, recipient: str | None, user: str | None, person: PersonRef | None
) -> Recipient | None:
    """The checked chat recipient; None when only the person is known, on a link channel
    (InvalidRecipient when neither serves)."""
    if recipient is None and channel.name not in LINK_CHANNELS:
        if person is None or person.email is None:
            raise InvalidRecipient(f"{channel.name} needs the recipient, or the person's email")
        recipient = person.email  # Slack finds its user by email
    if recipient is None:
        return None
    return await channel.resolve_recipient(recipient, user)


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
    found = _given(person) if person is not None else []
    if recipient is not None and EMAIL_PATTERN.fullmatch(recipient.strip()):
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


def _given(person: PersonRef) -> list[tuple[str, str]]:
    """(kind, value) of each address the person was given by, as stored."""
    found: list[tuple[str, str]] = []
    if person.email is not None:
        found.append((EMAIL, email_address(person.email)))
    if person.requester is not None:
        desk, _, requester_id = person.requester.partition(":")
        found.append((REQUESTER, f"{desk.lower()}:{requester_id}"))
    return found
