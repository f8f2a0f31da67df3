"""Rule states: rules paused or resumed from chat or the API, shared by every process."""

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.clock import utcnow
from storage.tables import RuleState


async def rule_states(session: AsyncSession) -> dict[str, RuleState]:
    """Every rule's stored state, by rule id (rules never paused or resumed are absent)."""
    rows = await session.exec(select(RuleState).execution_options(populate_existing=True))
    return {state.rule_id: state for state in rows.all()}


async def set_rule_state(
    session: AsyncSession,
    rule_id: str,
    paused: bool,
    changed_by: str | None,
    at: datetime | None = None,
) -> None:
    """Pause or resume `rule_id` for every process; the last call wins."""
    values = {
        "rule_id": rule_id,
        "paused": paused,
        "changed_by": changed_by[:160] if changed_by else None,
        "changed_at": at or utcnow(),
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(RuleState).values(values)
    changed = {name: value for name, value in values.items() if name != "rule_id"}
    await session.exec(insert.on_conflict_do_update(index_elements=["rule_id"], set_=changed))


async def clear_rule_states(session: AsyncSession) -> int:
    """Forget every pause and resume, so the rules file alone decides; return how many."""
    states = await rule_states(session)
    for state in states.values():
        await session.delete(state)
    await session.flush()
    return len(states)


async def rule_state(session: AsyncSession, rule_id: str) -> RuleState | None:
    """The stored state of one rule, or None."""
    statement = (
        select(RuleState)
        .where(col(RuleState.rule_id) == rule_id)
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).one_or_none()
