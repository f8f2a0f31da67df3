"""Slack channel: slack-bolt translating Slack events and actions to the runner, prompts back."""

from bot.slack.service import SlackService

__all__ = ["SlackService"]
