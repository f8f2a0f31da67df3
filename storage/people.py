"""People: the addresses (respondent rows) that belong to one human, linked and looked up."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.clock import utcnow
from storage.tables import Person, Respondent

# Address kinds beyond the chat channels (whose kind is the channel's name): what a help desk
# knows of a customer. An invitation made out to one of them waits for its link to be opened.
EMAIL = "email"
REQUESTER = "requester"  # "<help desk>:<requester id>", e.g. "zendesk:12345"
IDENTITY_KINDS = (EMAIL, REQUESTER)


def email_address(value: str) -> str:
    """An email as stored: trimmed, lower case (mailbox names are case-insensitive in practice)."""
    return value.strip().lower()


async def link_addresses(session: AsyncSession, respondents: Sequence[Respondent]) -> int:
    """Make these addresses one person's; returns the person's id.

    Addresses already of a person bring that person along: two people found to be one are
    merged into the older (lower id), every address of the younger moving over. The rows are
    locked first on PostgreSQL (in id order, so two links never deadlock); the caller commits.
    """
    ids = sorted({r.id for r in respondents if r.id is not None})
    rows = list(
        (
            await session.exec(
                select(Respondent)
                .where(col(Respondent.id).in_(ids))
                .order_by(col(Respondent.id))
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).all()
    )
    people = sorted({row.person_id for row in rows if row.person_id is not None})
    if people:
        target = people[0]
    else:
        person = Person(created_at=utcnow())
        session.add(person)
        await session.flush()
        assert person.id is not None
        target = person.id
    merged = or_(col(Respondent.id).in_(ids), col(Respondent.person_id).in_(people[1:]))
    await session.exec(update(Respondent).where(merged).values(person_id=target))
    for row in rows:  # keep the loaded objects in step with the UPDATE
        row.person_id = target
    return target


async def same_person(session: AsyncSession, respondent: Respondent) -> list[int]:
    """The ids of every address of the respondent's person (just its own id when unlinked)."""
    assert respondent.id is not None
    if respondent.person_id is None:
        return [respondent.id]
    statement = select(Respondent.id).where(col(Respondent.person_id) == respondent.person_id)
    found = [found for found in (await session.exec(statement)).all() if found is not None]
    return sorted(set(found) | {respondent.id})


async def addresses_of(session: AsyncSession, respondent: Respondent) -> list[Respondent]:
    """Every address of the respondent's person, the respondent first."""
    if respondent.person_id is None:
        return [respondent]
    statement = (
        select(Respondent)
        .where(col(Respondent.person_id) == respondent.person_id)
        .order_by(col(Respondent.id))
        .execution_options(populate_existing=True)
    )
    others = [r for r in (await session.exec(statement)).all() if r.id != respondent.id]
    return [respondent, *others]


async def person_on(session: AsyncSession, person_id: int, channel: str) -> Respondent | None:
    """The person's address on ``channel`` last heard from (None: they have none there)."""
    statement = (
        select(Respondent)
        .where(
            col(Respondent.person_id) == person_id,
            col(Respondent.channel) == channel,
            col(Respondent.forgotten_at).is_(None),
        )
        .order_by(col(Respondent.updated_at).desc(), col(Respondent.id).desc())
        .limit(1)
    )
    return (await session.exec(statement)).first()


async def lock_person(session: AsyncSession, respondent: Respondent) -> None:
    """Hold the person (or the lone address) until the transaction ends, on PostgreSQL: two
    events for one person are decided one after the other. SQLite's single writer does it."""
    if respondent.person_id is not None:
        await session.exec(
            select(col(Person.id)).where(col(Person.id) == respondent.person_id).with_for_update()
        )
    else:
        await session.exec(
            select(col(Respondent.id)).where(col(Respondent.id) == respondent.id).with_for_update()
        )
