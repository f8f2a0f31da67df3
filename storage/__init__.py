"""cxbot persistence: SQL tables and repositories, migrations, and the conversation state store."""

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.answers import NewAnswer, answers_for, record_answer, scores
from storage.clock import utcnow
from storage.db import DEFAULT_DATABASE_URL, Database
from storage.errors import (
    DatabaseUnavailable,
    StateLockTimeout,
    StateStoreUnavailable,
    StorageError,
)
from storage.invitations import (
    NewInvitation,
    create_invitation,
    due_invitations,
    get_invitation,
    get_invitation_for_update,
    list_invitations,
    mark_completed,
    mark_expired,
    mark_failed,
    mark_sent,
    mark_started,
)
from storage.respondents import find_respondent, get_respondent, upsert_respondent
from storage.state import (
    BaseStateStore,
    MemoryStateStore,
    RedisStateStore,
    StateKey,
    key,
    open_state_store,
)
from storage.tables import Answer, Invitation, InvitationStatus, Respondent

__all__ = [
    "DEFAULT_DATABASE_URL",
    "Answer",
    "AsyncSession",
    "BaseStateStore",
    "Database",
    "DatabaseUnavailable",
    "Invitation",
    "InvitationStatus",
    "MemoryStateStore",
    "NewAnswer",
    "NewInvitation",
    "RedisStateStore",
    "Respondent",
    "StateKey",
    "StateLockTimeout",
    "StateStoreUnavailable",
    "StorageError",
    "answers_for",
    "create_invitation",
    "due_invitations",
    "find_respondent",
    "get_invitation",
    "get_invitation_for_update",
    "get_respondent",
    "key",
    "list_invitations",
    "mark_completed",
    "mark_expired",
    "mark_failed",
    "mark_sent",
    "mark_started",
    "open_state_store",
    "record_answer",
    "scores",
    "upsert_respondent",
    "utcnow",
]
