"""Agents' feedback (opt-in, CXBOT_AGENTS): promoters' comments forwarded to the agent, /me."""

from bot.agents.directory import AgentDirectory, InvalidAgents
from bot.agents.praise import PromoterComments, is_promoter

__all__ = ["AgentDirectory", "InvalidAgents", "PromoterComments", "is_promoter"]
