"""Rule states: pauses shared by every process, the last change winning; the audit log."""

from datetime import timedelta

from sqlmodel import col, select

from storage.audit import record_audit
from storage.db import Database
from storage.rule_states import clear_rule_states, rule_state, rule_states, set_rule_state
from storage.tables import AuditEntry
from tests.storage.builders import NOON


class TestRuleStates:
    async def test_pause_then_resume_keeps_the_last_change(self, database: Database) -> None:
        async with database.session() as session:
            await set_rule_state(session, "nps-closed", True, "telegram:42 Ana", NOON)
            await session.commit()
        async with database.session() as session:
            await set_rule_state(session, "nps-closed", False, "api", NOON + timedelta(hours=1))
            await set_rule_state(session, "csat-solved", True, None, NOON)
            await session.commit()
        async with database.session() as session:
            states = await rule_states(session)
            one = await rule_state(session, "nps-closed")
        assert {rule_id: s.paused for rule_id, s in states.items()} == {
            "nps-closed": False,
            "csat-solved": True,
        }
        assert one is not None
        assert (one.changed_by, one.changed_at) == ("api", NOON + timedelta(hours=1))

    async def test_clearing_forgets_every_state(self, database: Database) -> None:
        async with database.session() as session:
            await set_rule_state(session, "a", True, "api")
            await set_rule_state(session, "b", False, "api")
            await session.commit()
        async with database.session() as session:
            assert await clear_rule_states(session) == 2
            await session.commit()
        async with database.session() as session:
            assert await rule_states(session) == {}
            assert await rule_state(session, "a") is None


class TestAudit:
    async def test_entries_are_stored_with_who_what_and_when(self, database: Database) -> None:
        async with database.session() as session:
            await record_audit(session, "telegram:42 Ana", "rule.pause", "nps-closed", "")
            await record_audit(session, "api", "rules.replace", "/etc/rules.yaml", "2 rules -> 3")
            await session.commit()
        async with database.session() as session:
            rows = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))).all()
        assert [(r.actor, r.action, r.target, r.detail) for r in rows] == [
            ("telegram:42 Ana", "rule.pause", "nps-closed", ""),
            ("api", "rules.replace", "/etc/rules.yaml", "2 rules -> 3"),
        ]
        assert all(r.at is not None for r in rows)
