"""Survey triggers: support events in, rules decide, decisions kept for `/why`."""

from bot.triggers.auth import Credentials
from bot.triggers.errors import InvalidEvent, RulesNotConfigured, TriggerError, UnknownRule
from bot.triggers.events import Source
from bot.triggers.routes import add_trigger_routes
from bot.triggers.rulebook import RuleBook
from bot.triggers.service import Outcome, Scheduler, Triggers

__all__ = [
    "Credentials",
    "InvalidEvent",
    "Outcome",
    "RuleBook",
    "RulesNotConfigured",
    "Scheduler",
    "Source",
    "TriggerError",
    "Triggers",
    "UnknownRule",
    "add_trigger_routes",
]
